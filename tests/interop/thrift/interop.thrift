// IDL for the Thrift codec interop tests: every type, a declared exception, a oneway.
namespace py meshinterop

enum Color {
  RED = 1,
  GREEN = 2,
  BLUE = 3,
}

struct Inner {
  1: i32 id,
  2: string label,
}

struct AllTypes {
  1: bool flag,
  2: i8 tiny,
  3: i16 small,
  4: i32 medium,
  5: i64 big,
  6: double ratio,
  7: string text,
  8: binary blob,
  9: list<i32> ints,
  10: set<string> tags,
  11: map<string, i64> counts,
  12: Inner inner,
  13: Color color,
  14: optional list<Inner> inners,
  15: list<list<i32>> matrix,
  16: map<i32, Inner> by_id,
  17: list<bool> bools,
  18: set<double> doubles,
  20: i64 far,
  300: string farther,
}

exception MyError {
  1: i32 code,
  2: string message,
}

service Calc {
  void ping(),
  i32 add(1: i32 a, 2: i32 b),
  string echo(1: string s),
  AllTypes roundtrip(1: AllTypes v),
  i32 divide(1: i32 a, 2: i32 b) throws (1: MyError err),
  string fail(1: string why),
  oneway void fire(1: string msg),
}
