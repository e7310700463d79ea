// An Envoy-network-filter-shaped C++17 program over libmeshplane.
//
// MeshplaneFilter has the shape of an Envoy Network::Filter: onData(buffer, end_stream) for
// bytes from downstream, onWrite(buffer, end_stream) for bytes from upstream, each called with
// whatever chunk the socket produced. Per request it decodes one message, reads its metadata,
// routes by one metadata key, asks the local rate limiter (Envoy LocalRateLimit JSON, one
// descriptor per route) and the adaptive concurrency limiter, then forwards the message
// (re-encoded, with a mutation when the route says so) or answers locally with on_error.
// Heartbeats are answered locally. Responses from upstream release the concurrency permits;
// closing the connection resets the requests still waiting.
//
//   envoy_filter PROTOCOL ROUTE_KEY REPEAT REQUESTS.bin [RESPONSES.bin|-] [MUTATION_KEY=VALUE]
//
// One connection replays the request capture REPEAT times, each followed by the response
// capture when something was forwarded. Everything is replayed with several chunkings (whole,
// 1 byte, 7 bytes, pseudo-random); the program checks that every chunking gives the same log,
// then prints the log once. Time is a manual clock advanced 1 ms per chunk.

#include <meshplane.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

std::string_view view(meshplane_str s) { return {s.data, s.len}; }

[[noreturn]] void fail(const std::string& what, meshplane_result rc) {
    throw std::runtime_error(what + ": " + std::string(view(meshplane_result_text(rc))));
}

void check(meshplane_result rc, const char* what) {
    if (rc != MESHPLANE_RESULT_OK) fail(what, rc);
}

// RAII owners for the C handles.
struct CodecFree { void operator()(meshplane_codec* c) const { meshplane_codec_free(c); } };
struct RateFree { void operator()(meshplane_rate_limiter* l) const { meshplane_rate_limiter_free(l); } };
struct ConcFree { void operator()(meshplane_concurrency_limiter* l) const { meshplane_concurrency_limiter_free(l); } };
struct ClockFree { void operator()(meshplane_clock* c) const { meshplane_clock_free(c); } };
struct ErrorFree { void operator()(meshplane_error* e) const { meshplane_error_free(e); } };
using Codec = std::unique_ptr<meshplane_codec, CodecFree>;
using RateLimiter = std::unique_ptr<meshplane_rate_limiter, RateFree>;
using ConcurrencyLimiter = std::unique_ptr<meshplane_concurrency_limiter, ConcFree>;
using Clock = std::unique_ptr<meshplane_clock, ClockFree>;
using Error = std::unique_ptr<meshplane_error, ErrorFree>;

Codec make_codec(const std::string& protocol, meshplane_direction dir) {
    meshplane_codec* c = nullptr;
    check(meshplane_codec_new(protocol.data(), protocol.size(), dir, nullptr, &c), "codec_new");
    return Codec(c);
}

// Stand-in for Envoy's Buffer::Instance: bytes in, drain from the front.
struct Buffer {
    std::string bytes;
    void add(const uint8_t* p, size_t n) { bytes.append(reinterpret_cast<const char*>(p), n); }
    void drain(size_t n) { bytes.erase(0, n); }
    const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(bytes.data()); }
    size_t length() const { return bytes.size(); }
};

enum class FilterStatus { Continue, StopIteration };

struct Route {
    std::string cluster;
    std::vector<std::pair<std::string, std::string>> mutation;
};

class MeshplaneFilter {
  public:
    MeshplaneFilter(const std::string& protocol, std::string route_key,
                    std::map<std::string, Route> routes, const meshplane_clock* clock,
                    const std::string& rate_limit_json, std::ostream& log)
        : request_codec_(make_codec(protocol, MESHPLANE_DIRECTION_REQUEST)),
          response_codec_(make_codec(protocol, MESHPLANE_DIRECTION_RESPONSE)),
          route_key_(std::move(route_key)), routes_(std::move(routes)), log_(log) {
        meshplane_rate_limiter* rl = nullptr;
        meshplane_error* err = nullptr;
        meshplane_result rc = meshplane_rate_limiter_new(rate_limit_json.data(), rate_limit_json.size(),
                                                         clock, &rl, &err);
        if (rc != MESHPLANE_RESULT_OK) {
            Error owned(err);
            meshplane_str text{};
            if (err && meshplane_error_text(err, &text) == MESHPLANE_RESULT_OK)
                throw std::runtime_error("rate limit config: " + std::string(view(text)));
            fail("rate_limiter_new", rc);
        }
        rate_limiter_.reset(rl);
        static const char algo[] = "gradient2";
        static const char cfg[] = R"({"initial_limit": 32, "min_limit": 4, "max_concurrency": 64})";
        meshplane_concurrency_limiter* cl = nullptr;
        check(meshplane_concurrency_limiter_new(algo, sizeof algo - 1, cfg, sizeof cfg - 1, clock, &cl, nullptr),
              "concurrency_limiter_new");
        concurrency_.reset(cl);
    }

    // Downstream bytes (Envoy: Network::ReadFilter::onData).
    FilterStatus onData(Buffer& data, bool end_stream) {
        request_buf_.add(data.data(), data.length());
        data.drain(data.length());
        while (request_buf_.length() > 0) {
            size_t consumed = 0, needed = 0;
            meshplane_result rc = meshplane_codec_decode(request_codec_.get(), request_buf_.data(),
                                                         request_buf_.length(), &consumed, &needed);
            if (rc == MESHPLANE_RESULT_NEED_MORE_DATA) break;
            if (rc != MESHPLANE_RESULT_OK) {
                size_t off = 0;
                meshplane_codec_error_offset(request_codec_.get(), &off);
                log_ << "request stream error at offset " << (requests_offset_ + off) << ": "
                     << view(meshplane_result_text(rc)) << " -> close connection\n";
                request_buf_ = Buffer{};
                return FilterStatus::StopIteration;
            }
            onRequest(consumed);
            request_buf_.drain(consumed);
            requests_offset_ += consumed;
        }
        if (end_stream && request_buf_.length() > 0)
            log_ << "downstream closed with " << request_buf_.length() << " bytes of a partial request\n";
        return FilterStatus::Continue;
    }

    // Upstream bytes (Envoy: Network::WriteFilter::onWrite).
    FilterStatus onWrite(Buffer& data, bool end_stream) {
        response_buf_.add(data.data(), data.length());
        data.drain(data.length());
        while (response_buf_.length() > 0) {
            size_t consumed = 0;
            meshplane_result rc = meshplane_codec_decode(response_codec_.get(), response_buf_.data(),
                                                         response_buf_.length(), &consumed, nullptr);
            if (rc == MESHPLANE_RESULT_NEED_MORE_DATA) break;
            if (rc != MESHPLANE_RESULT_OK) {
                log_ << "response stream error: " << view(meshplane_result_text(rc)) << "\n";
                response_buf_ = Buffer{};
                return FilterStatus::StopIteration;
            }
            onResponse(consumed);
            response_buf_.drain(consumed);
        }
        if (end_stream && response_buf_.length() > 0)
            log_ << "upstream closed with " << response_buf_.length() << " bytes of a partial response\n";
        return FilterStatus::Continue;
    }

    size_t forwarded() const { return forwarded_; }
    size_t local_replies() const { return local_replies_; }

    // Connection closed (Envoy: onEvent(RemoteClose)): requests still waiting for upstream are
    // reset; their permits go back without a latency sample.
    void finish() {
        size_t reset = 0;
        for (auto& p : permits_) {
            for (uint64_t permit : p.second) {
                check(meshplane_concurrency_limiter_release(concurrency_.get(), permit, MESHPLANE_OUTCOME_IGNORED, 0),
                      "release");
                reset++;
            }
        }
        permits_.clear();
        if (reset) log_ << "connection closed: outstanding requests reset: " << reset << "\n";
        uint32_t limit = 0, in_flight = 0;
        check(meshplane_concurrency_limiter_limit(concurrency_.get(), &limit), "limit");
        check(meshplane_concurrency_limiter_in_flight(concurrency_.get(), &in_flight), "in_flight");
        log_ << "upstream bytes " << upstream_.length() << ", downstream local replies bytes "
             << downstream_.length() << ", concurrency limit " << limit << ", in flight " << in_flight
             << "\n";
    }

  private:
    static const char* type_name(meshplane_message_type t) {
        switch (t) {
            case MESHPLANE_MESSAGE_TYPE_REQUEST: return "request";
            case MESHPLANE_MESSAGE_TYPE_RESPONSE: return "response";
            case MESHPLANE_MESSAGE_TYPE_ONEWAY: return "oneway";
            case MESHPLANE_MESSAGE_TYPE_HEARTBEAT: return "heartbeat";
            case MESHPLANE_MESSAGE_TYPE_ERROR: return "error";
            default: return "stream";
        }
    }

    void describe(meshplane_codec* codec, const meshplane_message_info& info) {
        log_ << type_name(info.message_type);
        if (info.has_request_id) log_ << " id=" << info.request_id;
        log_ << " size=" << info.message_size;
        size_t n = 0;
        check(meshplane_codec_header_count(codec, &n), "header_count");
        for (size_t i = 0; i < n; i++) {
            meshplane_str k{}, v{};
            check(meshplane_codec_header_at(codec, i, &k, &v), "header_at");
            std::string_view value = view(v);
            if (value.size() > 48) value = value.substr(0, 48);
            log_ << " " << view(k) << "=" << value;
        }
    }

    void reply_locally(meshplane_local_error kind, const std::string& why) {
        meshplane_buffer* out = nullptr;
        check(meshplane_codec_on_error_to_buffer(request_codec_.get(), kind, why.data(), why.size(), &out),
              "on_error");
        if (meshplane_buffer_len(out) == 0)
            log_ << " -> dropped (" << why << "; a oneway message gets no reply)\n";
        else
            log_ << " -> local reply (" << why << ", " << meshplane_buffer_len(out) << " bytes)\n";
        downstream_.add(meshplane_buffer_data(out), meshplane_buffer_len(out));
        meshplane_buffer_free(out);
        local_replies_++;
    }

    void onRequest(size_t size) {
        meshplane_codec* codec = request_codec_.get();
        meshplane_message_info info{};
        check(meshplane_codec_message_info(codec, &info), "message_info");
        log_ << "> ";
        describe(codec, info);

        if (info.message_type == MESHPLANE_MESSAGE_TYPE_HEARTBEAT) {
            // Answer heartbeats here (into a caller buffer: ask the size first).
            size_t need = 0;
            meshplane_result rc = meshplane_codec_heartbeat_reply(codec, nullptr, 0, &need);
            if (rc == MESHPLANE_RESULT_BUFFER_TOO_SMALL) {
                std::vector<uint8_t> reply(need);
                size_t written = 0;
                check(meshplane_codec_heartbeat_reply(codec, reply.data(), reply.size(), &written),
                      "heartbeat_reply");
                downstream_.add(reply.data(), written);
                log_ << " -> heartbeat reply (" << written << " bytes)\n";
                return;
            }
            if (rc != MESHPLANE_RESULT_NOT_FOUND) fail("heartbeat_reply", rc);
        }

        meshplane_str value{};
        meshplane_result rc = meshplane_codec_header_get(codec, route_key_.data(), route_key_.size(), &value);
        if (rc != MESHPLANE_RESULT_OK) {
            reply_locally(MESHPLANE_LOCAL_ERROR_ROUTE_NOT_FOUND, "no " + route_key_ + " to route by");
            return;
        }
        auto route = routes_.find(std::string(view(value)));
        const Route& r = route != routes_.end() ? route->second : default_route_;

        // Local rate limit: one descriptor {route: <cluster>}.
        meshplane_kv entry{"route", 5, r.cluster.data(), r.cluster.size()};
        meshplane_descriptor descriptor{&entry, 1};
        meshplane_rate_limit_decision d{};
        check(meshplane_rate_limiter_check(rate_limiter_.get(), &descriptor, 1, &d), "rate_limiter_check");
        if (!d.allowed) {
            log_ << " [x-ratelimit-limit=" << d.limit << " remaining=" << d.remaining << "]";
            reply_locally(MESHPLANE_LOCAL_ERROR_OVER_LIMIT, "rate limited on " + r.cluster);
            return;
        }

        // Adaptive concurrency: one permit per request that expects a response.
        bool expects_reply = info.message_type == MESHPLANE_MESSAGE_TYPE_REQUEST && info.has_request_id;
        if (expects_reply) {
            bool admitted = false;
            uint64_t permit = 0;
            check(meshplane_concurrency_limiter_acquire(concurrency_.get(), &admitted, &permit), "acquire");
            if (!admitted) {
                reply_locally(MESHPLANE_LOCAL_ERROR_OVER_LIMIT, "concurrency limit");
                return;
            }
            permits_[info.request_id].push_back(permit);
        }

        // Forward, re-encoded with the route's mutation.
        std::vector<meshplane_kv> mutation;
        for (const auto& kv : r.mutation)
            mutation.push_back({kv.first.data(), kv.first.size(), kv.second.data(), kv.second.size()});
        size_t need = 0;
        rc = meshplane_codec_encode(codec, request_buf_.data(), size, mutation.data(), mutation.size(),
                                    nullptr, 0, &need);
        if (rc != MESHPLANE_RESULT_BUFFER_TOO_SMALL && rc != MESHPLANE_RESULT_OK) fail("encode", rc);
        std::vector<uint8_t> wire(need);
        size_t written = 0;
        check(meshplane_codec_encode(codec, request_buf_.data(), size, mutation.data(), mutation.size(),
                                     wire.data(), wire.size(), &written),
              "encode");
        upstream_.add(wire.data(), written);
        forwarded_++;
        log_ << " -> " << r.cluster << " (" << written << " bytes";
        if (!mutation.empty()) log_ << ", mutated";
        log_ << ")\n";
    }

    void onResponse(size_t) {
        meshplane_codec* codec = response_codec_.get();
        meshplane_message_info info{};
        check(meshplane_codec_message_info(codec, &info), "message_info");
        log_ << "< ";
        describe(codec, info);
        log_ << " status="
             << (info.status == MESHPLANE_RESPONSE_STATUS_OK
                     ? "ok"
                     : info.status == MESHPLANE_RESPONSE_STATUS_ERROR ? "error" : "none");
        auto p = info.has_request_id ? permits_.find(info.request_id) : permits_.end();
        if (p != permits_.end() && !p->second.empty()) {
            meshplane_outcome outcome = info.status == MESHPLANE_RESPONSE_STATUS_ERROR
                                            ? MESHPLANE_OUTCOME_DROPPED
                                            : MESHPLANE_OUTCOME_SUCCESS;
            check(meshplane_concurrency_limiter_release(concurrency_.get(), p->second.front(), outcome, 2000000),
                  "release");
            p->second.erase(p->second.begin());
            log_ << " (permit released)";
        }
        log_ << "\n";
    }

    Codec request_codec_, response_codec_;
    RateLimiter rate_limiter_;
    ConcurrencyLimiter concurrency_;
    std::string route_key_;
    std::map<std::string, Route> routes_;
    Route default_route_{"default", {}};
    std::map<uint64_t, std::vector<uint64_t>> permits_;
    size_t forwarded_ = 0, local_replies_ = 0;
    Buffer request_buf_, response_buf_, upstream_, downstream_;
    size_t requests_offset_ = 0;
    std::ostream& log_;
};

std::string read_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read ") + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Splits `bytes` into chunks: `mode` 0 = whole, 1 = one byte, 2 = seven bytes, 3 = pseudo-random.
std::vector<std::string> chunks(const std::string& bytes, int mode) {
    std::vector<std::string> out;
    uint32_t seed = 2463534242u;
    for (size_t i = 0; i < bytes.size();) {
        size_t n = bytes.size();
        if (mode == 1) n = 1;
        if (mode == 2) n = 7;
        if (mode == 3) {
            seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
            n = 1 + seed % 300;
        }
        n = std::min(n, bytes.size() - i);
        out.push_back(bytes.substr(i, n));
        i += n;
    }
    return out;
}

// Routes and the rate limit config used for every protocol: the first value of the route key
// seen in the capture goes to cluster "backend" (limited to 2 requests per minute by a
// descriptor), any other value to cluster "default" (only the default bucket); a message
// without the route key gets a route-not-found local reply.
struct Config {
    std::map<std::string, Route> routes;
    std::string rate_limit_json;
};

Config config_for(const std::string& protocol, const std::string& requests, const std::string& route_key) {
    // Discover the route key's first value in the capture, so the same program serves any
    // capture.
    Codec c = make_codec(protocol, MESHPLANE_DIRECTION_REQUEST);
    std::vector<std::string> values;
    size_t off = 0;
    while (off < requests.size() && values.empty()) {
        size_t consumed = 0;
        meshplane_result rc = meshplane_codec_decode(
            c.get(), reinterpret_cast<const uint8_t*>(requests.data()) + off, requests.size() - off, &consumed, nullptr);
        if (rc != MESHPLANE_RESULT_OK) break;
        meshplane_str v{};
        if (meshplane_codec_header_get(c.get(), route_key.data(), route_key.size(), &v) == MESHPLANE_RESULT_OK) {
            values.push_back(std::string(view(v)));
        }
        off += consumed;
    }
    Config cfg;
    if (!values.empty()) cfg.routes[values[0]] = Route{"backend", {}};
    cfg.rate_limit_json = R"({"stat_prefix": "meshplane_example",
        "token_bucket": {"max_tokens": 1000, "tokens_per_fill": 1000, "fill_interval": "1s"},
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "descriptors": [{"entries": [{"key": "route", "value": "backend"}],
                         "token_bucket": {"max_tokens": 2, "tokens_per_fill": 2, "fill_interval": "60s"}}]})";
    return cfg;
}

void feed(MeshplaneFilter& filter, meshplane_clock* clock, const std::string& bytes, int mode, bool downstream,
          bool last) {
    auto parts = chunks(bytes, mode);
    for (size_t i = 0; i < parts.size(); i++) {
        Buffer b;
        b.add(reinterpret_cast<const uint8_t*>(parts[i].data()), parts[i].size());
        bool end = last && i + 1 == parts.size();
        if (downstream) filter.onData(b, end);
        else filter.onWrite(b, end);
        check(meshplane_clock_advance(clock, 1000000), "advance");  // 1 ms per chunk
    }
}

// One connection: the request capture is sent `repeat` times; after each, when the filter
// forwarded every request of it, the upstream answers with the response capture (when some were
// answered locally, the captured responses no longer match what upstream would send).
std::string run(const std::string& protocol, const std::string& route_key, const Config& cfg,
                const std::string& requests, const std::string& responses, int mode, int repeat,
                const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& mutations) {
    std::ostringstream log;
    meshplane_clock* raw_clock = nullptr;
    check(meshplane_clock_new_manual(&raw_clock), "clock");
    Clock clock(raw_clock);
    auto routes = cfg.routes;
    for (auto& r : routes) {
        auto m = mutations.find(r.second.cluster);
        if (m != mutations.end()) r.second.mutation = m->second;
    }
    MeshplaneFilter filter(protocol, route_key, routes, clock.get(), cfg.rate_limit_json, log);
    for (int rep = 0; rep < repeat; rep++) {
        size_t before = filter.forwarded(), local_before = filter.local_replies();
        feed(filter, clock.get(), requests, mode, true, rep + 1 == repeat);
        if (responses.empty() || filter.forwarded() == before) continue;
        if (filter.local_replies() > local_before)
            log << "(captured responses not replayed: requests answered locally: "
                << filter.local_replies() - local_before << ")\n";
        else
            feed(filter, clock.get(), responses, mode, false, false);
    }
    filter.finish();
    return log.str();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5 || argc > 7) {
        std::fprintf(stderr,
                     "usage: %s PROTOCOL ROUTE_KEY REPEAT REQUESTS.bin [RESPONSES.bin|-] [MUTATION_KEY=VALUE]\n",
                     argv[0]);
        return 2;
    }
    try {
        std::string protocol = argv[1], route_key = argv[2];
        int repeat = std::stoi(argv[3]);
        if (repeat < 1) throw std::runtime_error("REPEAT must be >= 1");
        std::string requests = read_file(argv[4]);
        std::string responses = argc >= 6 && std::string(argv[5]) != "-" ? read_file(argv[5]) : std::string();
        std::map<std::string, std::vector<std::pair<std::string, std::string>>> mutations;
        if (argc == 7) {
            std::string kv = argv[6];
            size_t eq = kv.find('=');
            if (eq == std::string::npos) throw std::runtime_error("mutation must be KEY=VALUE");
            mutations["backend"].push_back({kv.substr(0, eq), kv.substr(eq + 1)});
        }
        Config cfg = config_for(protocol, requests, route_key);
        std::string first;
        for (int mode = 0; mode < 4; mode++) {
            std::string log = run(protocol, route_key, cfg, requests, responses, mode, repeat, mutations);
            if (mode == 0) {
                first = log;
            } else if (log != first) {
                std::fprintf(stderr, "chunking mode %d changed the result:\n%s\n--- vs whole:\n%s", mode,
                             log.c_str(), first.c_str());
                return 1;
            }
        }
        std::string name = argv[4];
        name = name.substr(name.find_last_of('/') + 1);
        std::printf("== %s %s x%d (same result for 4 chunkings)\n%s", protocol.c_str(), name.c_str(), repeat,
                    first.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "envoy_filter: %s\n", e.what());
        return 1;
    }
}
