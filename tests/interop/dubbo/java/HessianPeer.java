// Interop peer on the Caucho Hessian reference (Debian libhessian-java):
//   vectors             print "name<TAB>hex" for every named vector
//   check FILE          FILE has "name<TAB>hex" lines written by another implementation; each is
//                       decoded and compared (re-encoded, which normalizes) with the reference's
//                       own vector of that name; prints "name<TAB>OK" or "name<TAB>DIFF ..."
//   provider PORT       a Dubbo2 provider (hessian2) on 127.0.0.1:PORT, framing after Dubbo's
//                       ExchangeCodec/DubboCodec; prints "listening PORT" when ready
import com.caucho.hessian.io.Hessian2Input;
import com.caucho.hessian.io.Hessian2Output;
import com.example.Color;
import com.example.User;
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class HessianPeer {
    static LinkedHashMap<String, Object> vectors() {
        LinkedHashMap<String, Object> v = new LinkedHashMap<>();
        v.put("null", null);
        v.put("true", true);
        v.put("false", false);
        int[] ints = {0, -16, 47, 48, -17, -2048, 2047, 2048, -262144, 262143, 262144, Integer.MIN_VALUE, Integer.MAX_VALUE};
        for (int i : ints) v.put("int_" + i, i);
        long[] longs = {0, -8, 15, 16, -2048, 2047, 2048, 262143, 262144, Integer.MAX_VALUE, 1L << 31, -(1L << 31), Long.MAX_VALUE, Long.MIN_VALUE};
        for (long l : longs) v.put("long_" + l, l);
        double[] doubles = {0.0, 1.0, 127.0, -128.0, 128.0, 32767.0, 32768.0, 12.25, 0.001, 3.14159, -2.5, 1e300, Double.NaN};
        for (double d : doubles) v.put("double_" + d, d);
        v.put("string_empty", "");
        v.put("string_a", "a");
        v.put("string_31", "x".repeat(31));
        v.put("string_32", "x".repeat(32));
        v.put("string_1023", "x".repeat(1023));
        v.put("string_1024", "x".repeat(1024));
        v.put("string_utf8", "h\u00e9llo \u2713");
        v.put("string_emoji", "\ud83d\ude00");
        v.put("string_32768", "y".repeat(32768));
        v.put("string_70000", "z".repeat(70000));
        v.put("string_40000_e", "\u00e9".repeat(40000));
        v.put("string_pair_at_chunk_edge", "q".repeat(32767) + "\ud83d\ude00" + "tail");
        v.put("binary_empty", new byte[0]);
        v.put("binary_3", new byte[] {1, 2, 3});
        v.put("binary_15", fill(15));
        v.put("binary_16", fill(16));
        v.put("binary_1023", fill(1023));
        v.put("binary_1024", fill(1024));
        v.put("binary_70000", fill(70000));
        v.put("list_123", new ArrayList<>(List.of(1, 2, 3)));
        v.put("list_empty", new ArrayList<>());
        ArrayList<Object> ten = new ArrayList<>();
        for (int i = 0; i < 10; i++) ten.add(i);
        v.put("list_10", ten);
        ArrayList<Object> mixed = new ArrayList<>();
        mixed.add(1); mixed.add("a"); mixed.add(null); mixed.add(true); mixed.add(2L);
        v.put("list_mixed", mixed);
        v.put("int_array", new int[] {1, 2, 3});
        v.put("long_array", new long[] {1, 2});
        HashMap<String, Object> m = new HashMap<>();
        m.put("a", 1);
        v.put("map_a1", m);
        v.put("map_empty", new HashMap<>());
        HashMap<Object, Object> im = new HashMap<>();
        im.put(1, "one");
        v.put("map_int_key", im);
        LinkedHashMap<String, Object> lhm = new LinkedHashMap<>();
        lhm.put("k", "v"); lhm.put("n", 2L);
        v.put("map_linked", lhm);
        User alice = new User("alice", 30, 1234567890123L);
        v.put("object_user", alice);
        v.put("object_two_users", new ArrayList<>(List.of(alice, new User("bob", 41, -1))));
        v.put("object_same_twice", new ArrayList<>(List.of(alice, alice)));
        ArrayList<Object> self = new ArrayList<>();
        self.add("s"); self.add(self);
        v.put("list_self_ref", self);
        v.put("enum_blue", Color.BLUE);
        v.put("date_minute", new Date(0x019143c0L * 60000L));
        v.put("date_ms", new Date(0x16f5e66e87bL));
        HashMap<String, Object> nested = new HashMap<>();
        nested.put("users", new ArrayList<>(List.of(alice)));
        nested.put("bytes", new byte[] {9, 8});
        nested.put("when", new Date(1000L));
        v.put("map_nested", nested);
        return v;
    }

    static byte[] fill(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 7 + 3);
        return b;
    }

    static byte[] encode(Object o) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        Hessian2Output out = new Hessian2Output(bos);
        out.writeObject(o);
        out.flush();
        return bos.toByteArray();
    }

    static Object decode(byte[] b) throws IOException {
        Hessian2Input in = new Hessian2Input(new ByteArrayInputStream(b));
        Object o = in.readObject();
        if (in.read() != -1) throw new IOException("trailing bytes");
        return o;
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) sb.append(String.format("%02x", x & 0xff));
        return sb.toString();
    }

    static byte[] unhex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "vectors": {
                PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, "UTF-8");
                for (Map.Entry<String, Object> e : vectors().entrySet()) out.println(e.getKey() + "\t" + hex(encode(e.getValue())));
                out.flush();
                break;
            }
            case "check": {
                Map<String, Object> ref = vectors();
                BufferedReader r = new BufferedReader(new InputStreamReader(new FileInputStream(args[1]), StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.isEmpty()) continue;
                    String[] p = line.split("\t");
                    if (!ref.containsKey(p[0])) { System.out.println(p[0] + "\tUNKNOWN"); continue; }
                    try {
                        Object theirs = decode(unhex(p[1]));
                        String a = hex(encode(theirs));
                        String b = hex(encode(decode(encode(ref.get(p[0])))));
                        System.out.println(p[0] + "\t" + (a.equals(b) ? "OK" : "DIFF " + a.substring(0, Math.min(a.length(), 200)) + " vs " + b.substring(0, Math.min(b.length(), 200))));
                    } catch (Exception e) {
                        System.out.println(p[0] + "\tERROR " + e);
                    }
                }
                break;
            }
            case "provider":
                provider(Integer.parseInt(args[1]));
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }

    // ------------------------------------------------------------------ Dubbo provider

    static final String SERVICE = "com.example.UserService";

    static void provider(int port) throws IOException {
        ServerSocket ss = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        System.out.println("listening " + ss.getLocalPort());
        System.out.flush();
        while (true) {
            Socket s = ss.accept();
            new Thread(() -> {
                try { serve(s); } catch (IOException e) { /* connection closed */ }
            }).start();
        }
    }

    static int argCount(String desc) {
        int n = 0, i = 0;
        while (i < desc.length()) {
            while (desc.charAt(i) == '[') i++;
            if (desc.charAt(i) == 'L') i = desc.indexOf(';', i);
            i++;
            n++;
        }
        return n;
    }

    static boolean supportsResponseAttachment(String v) {
        // Dubbo's Version.isSupportResponseAttachment: 2.0.2 .. 2.0.99
        if (v == null || !v.startsWith("2.0.")) return false;
        try {
            int minor = Integer.parseInt(v.substring(4));
            return minor >= 2 && minor <= 99;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    static void serve(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
        OutputStream out = s.getOutputStream();
        while (true) {
            byte[] h = new byte[16];
            in.readFully(h);
            if ((h[0] & 0xff) != 0xda || (h[1] & 0xff) != 0xbb) throw new IOException("bad magic");
            int flag = h[2] & 0xff;
            long id = 0;
            for (int i = 4; i < 12; i++) id = (id << 8) | (h[i] & 0xff);
            int len = ((h[12] & 0xff) << 24) | ((h[13] & 0xff) << 16) | ((h[14] & 0xff) << 8) | (h[15] & 0xff);
            byte[] body = new byte[len];
            in.readFully(body);
            Hessian2Input hin = new Hessian2Input(new ByteArrayInputStream(body));
            if ((flag & 0x20) != 0) {
                // heartbeat: answer in kind (event response, null body)
                if ((flag & 0x40) != 0) writeFrame(out, 0x22, 20, id, encode(null));
                continue;
            }
            String dubboVersion = hin.readString();
            String path = hin.readString();
            String version = hin.readString();
            String method = hin.readString();
            String desc = hin.readString();
            int n = argCount(desc);
            Object[] argv = new Object[n];
            for (int i = 0; i < n; i++) argv[i] = hin.readObject();
            @SuppressWarnings("unchecked")
            Map<String, Object> attachments = (Map<String, Object>) hin.readObject();
            boolean twoWay = (flag & 0x40) != 0;
            System.err.println("provider: " + path + "#" + method + " v" + version + " args=" + n + " attachments=" + attachments);
            if (!twoWay) continue;
            if (!SERVICE.equals(path)) {
                ByteArrayOutputStream bos = new ByteArrayOutputStream();
                Hessian2Output ho = new Hessian2Output(bos);
                ho.writeString("Service not found: " + path);
                ho.flush();
                writeFrame(out, 0x02, 60, id, bos.toByteArray());
                continue;
            }
            boolean att = supportsResponseAttachment(dubboVersion);
            Object value;
            Throwable exc = null;
            switch (method) {
                case "boom": exc = new IllegalStateException("boom: " + argv[0]); value = null; break;
                case "nothing": value = null; break;
                case "attachments": value = new HashMap<>(attachments); break;
                case "length": value = ((String) argv[0]).length(); break;
                default: value = n > 0 ? argv[0] : null;
            }
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            Hessian2Output ho = new Hessian2Output(bos);
            if (exc != null) {
                ho.writeInt(att ? 3 : 0);
                ho.writeObject(exc);
            } else if (value == null) {
                ho.writeInt(att ? 5 : 2);
            } else {
                ho.writeInt(att ? 4 : 1);
                ho.writeObject(value);
            }
            if (att) {
                HashMap<String, Object> ra = new HashMap<>();
                ra.put("dubbo", "2.0.2");
                ho.writeObject(ra);
            }
            ho.flush();
            writeFrame(out, 0x02, 20, id, bos.toByteArray());
        }
    }

    static synchronized void writeFrame(OutputStream out, int flag, int status, long id, byte[] body) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(f);
        d.writeShort(0xdabb);
        d.writeByte(flag);
        d.writeByte(status);
        d.writeLong(id);
        d.writeInt(body.length);
        d.write(body);
        out.write(f.toByteArray());
        out.flush();
    }
}
