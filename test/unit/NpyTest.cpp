//===- NpyTest.cpp - NumPy .npy reading and writing -----------------------===//
//
// Fixtures in test/unit/data/npy were written by NumPy (gen.py there); the
// expected values below are the literals of gen.py.
//
//===----------------------------------------------------------------------===//
#include "ir/Npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

using namespace tcpu;

namespace {

std::string fixture(const std::string &name) {
  return std::string(TCPU_SOURCE_DIR) + "/test/unit/data/npy/" + name;
}

std::string fileBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<double> values(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(t.elementAsDouble(i));
  return v;
}

std::string message(const absl::Status &s) { return std::string(s.message()); }

/// A .npy file with the given header dict (padded like numpy) and data.
std::string npy(const std::string &dict, const std::string &data,
                int major = 1) {
  size_t lenBytes = major == 1 ? 2 : 4;
  std::string header = dict;
  size_t used = 8 + lenBytes + header.size() + 1;
  header.append((64 - used % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < lenBytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string dictFor(const std::string &descr, const std::string &shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
         shape + ", }";
}

/// Expects parseNpy to fail with a message containing `part`.
void expectError(const std::string &bytes, const std::string &part) {
  absl::StatusOr<Tensor> t = parseNpy(bytes, "bad.npy");
  ASSERT_FALSE(t.ok()) << "parsed as " << t->type().str();
  EXPECT_NE(message(t.status()).find(part), std::string::npos)
      << "message: " << message(t.status()) << "\nexpected part: " << part;
  EXPECT_NE(message(t.status()).find("bad.npy"), std::string::npos)
      << message(t.status());
}

Tensor make(DType dtype, Shape shape, const std::vector<double> &vals) {
  Tensor t = Tensor::allocate(TensorType(dtype, std::move(shape))).value();
  for (size_t i = 0; i < vals.size(); ++i)
    t.setElementFromDouble(static_cast<int64_t>(i), vals[i]);
  return t;
}

// ----- reading what numpy wrote ---------------------------------------------

TEST(NpyRead, NumpyFixtures) {
  struct Case {
    const char *file;
    const char *type;
    std::vector<double> vals;
  };
  const Case cases[] = {
      {"f32_2x3.npy", "f32[2,3]", {-1.0, -0.5, 0.0, 0.5, 1.0, 1.5}},
      {"f16_4.npy", "f16[4]", {1.5, -2.0, 65504.0, 0.25}},
      {"i8_2x2.npy", "i8[2,2]", {-128, -1, 0, 127}},
      {"u8_3.npy", "u8[3]", {0, 128, 255}},
      {"i32_2x1x2.npy", "i32[2,1,2]", {-2147483648.0, -1, 0, 2147483647.0}},
      {"bool_5.npy", "bool[5]", {1, 0, 1, 1, 0}},
      {"f32_scalar.npy", "f32[]", {3.25}},
      {"f32_0x3.npy", "f32[0,3]", {}},
      {"i32_v2.npy", "i32[3]", {1, 2, 3}},
      {"i32_v3.npy", "i32[3]", {4, 5, 6}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.file);
    absl::StatusOr<Tensor> t = readNpy(fixture(c.file));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->type().str(), c.type);
    EXPECT_EQ(values(*t), c.vals);
  }
  // i64 extremes are exact.
  absl::StatusOr<Tensor> t = readNpy(fixture("i64_2.npy"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().str(), "i64[2]");
  EXPECT_EQ(t->elementAsInt(0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(t->elementAsInt(1), std::numeric_limits<int64_t>::max());
}

TEST(NpyRead, RefusedNumpyFiles) {
  absl::StatusOr<Tensor> t = readNpy(fixture("f64_2.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(message(t.status()),
            "npy file '" + fixture("f64_2.npy") +
                "': dtype '<f8' is not supported (supported: <f4, <f2, |i1, "
                "|u1, <i4, <i8, |b1)");
  t = readNpy(fixture("f32_big_endian.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(message(t.status()),
            "npy file '" + fixture("f32_big_endian.npy") +
                "': dtype '>f4' is big-endian; only little-endian data is "
                "supported");
  t = readNpy(fixture("f32_fortran.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(message(t.status()),
            "npy file '" + fixture("f32_fortran.npy") +
                "': fortran_order True is not supported (dtype '<f4'); save "
                "a C-order array");
  t = readNpy(fixture("does_not_exist.npy"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(message(t.status()).find("does_not_exist.npy"), std::string::npos);
}

// ----- writing ----------------------------------------------------------------

TEST(NpyWrite, ByteIdenticalToNumpy) {
  // serializeNpy pads the header exactly as np.save (version 1.0).
  struct Case {
    const char *file;
    Tensor t;
  };
  Tensor i64 = Tensor::allocate(TensorType(DType::I64, {2})).value();
  i64.setElementFromInt(0, std::numeric_limits<int64_t>::min());
  i64.setElementFromInt(1, std::numeric_limits<int64_t>::max());
  const Case cases[] = {
      {"f32_2x3.npy", make(DType::F32, {2, 3}, {-1, -0.5, 0, 0.5, 1, 1.5})},
      {"f16_4.npy", make(DType::F16, {4}, {1.5, -2.0, 65504.0, 0.25})},
      {"i8_2x2.npy", make(DType::I8, {2, 2}, {-128, -1, 0, 127})},
      {"u8_3.npy", make(DType::U8, {3}, {0, 128, 255})},
      {"i32_2x1x2.npy",
       make(DType::I32, {2, 1, 2}, {-2147483648.0, -1, 0, 2147483647.0})},
      {"i64_2.npy", i64},
      {"bool_5.npy", make(DType::Bool, {5}, {1, 0, 1, 1, 0})},
      {"f32_scalar.npy", make(DType::F32, {}, {3.25})},
      {"f32_0x3.npy", make(DType::F32, {0, 3}, {})},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.file);
    std::string bytes = serializeNpy(c.t);
    EXPECT_EQ(bytes, fileBytes(fixture(c.file)));
    EXPECT_EQ((bytes.size() - c.t.byteSize()) % 64, 0u);
  }
}

TEST(NpyWrite, RoundTripEveryDType) {
  std::string dir = ::testing::TempDir();
  for (DType dt : kAllDTypes) {
    if (dt == DType::BF16)
      continue;
    SCOPED_TRACE(std::string(dtypeName(dt)));
    Tensor t = make(dt, {2, 3}, {0, 1, 0, 1, 1, 0});
    if (isNumeric(dt))
      t = make(dt, {2, 3}, {-3, 2, 0, 1, 100, -7});
    if (dt == DType::U8)
      t = make(dt, {2, 3}, {3, 2, 0, 1, 255, 7});
    absl::StatusOr<Tensor> back = parseNpy(serializeNpy(t), "mem");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->identical(t));
    std::string path = dir + "/tcpu_npy_" + std::string(dtypeName(dt)) + ".npy";
    ASSERT_TRUE(writeNpy(path, t).ok());
    back = readNpy(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->identical(t));
    std::remove(path.c_str());
  }
  // Scalars and empty tensors too.
  for (const Shape &s : {Shape{}, Shape{0}, Shape{3, 0, 2}, Shape{1, 1, 1, 1, 1, 1}}) {
    Tensor t = Tensor::allocate(TensorType(DType::I32, s)).value();
    absl::StatusOr<Tensor> back = parseNpy(serializeNpy(t), "mem");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->identical(t)) << t.type().str();
  }
}

TEST(NpyWrite, Refusals) {
  Tensor bf = Tensor::allocate(TensorType(DType::BF16, {2})).value();
  absl::Status s = writeNpy(::testing::TempDir() + "/bf.npy", bf);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(message(s).find("bf16[2] has no NumPy dtype"), std::string::npos)
      << message(s);
  EXPECT_EQ(serializeNpy(bf), "");
  s = writeNpy("/nonexistent_dir_tcpu/x.npy", make(DType::F32, {1}, {1}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(message(s).find("/nonexistent_dir_tcpu/x.npy"), std::string::npos);
}

// ----- dtype spellings and header variants -----------------------------------

TEST(NpyRead, DTypeSpellings) {
  std::string one(1, '\x05');
  for (const char *d : {"|i1", "<i1", ">i1"}) {
    absl::StatusOr<Tensor> t = parseNpy(npy(dictFor(d, "(1,)"), one), "m");
    ASSERT_TRUE(t.ok()) << d << ": " << t.status();
    EXPECT_EQ(t->type().str(), "i8[1]");
  }
  for (const char *d : {"|u1", "<u1"}) {
    absl::StatusOr<Tensor> t = parseNpy(npy(dictFor(d, "(1,)"), one), "m");
    ASSERT_TRUE(t.ok()) << d << ": " << t.status();
    EXPECT_EQ(t->type().str(), "u8[1]");
  }
  // Bool bytes other than 0/1 read as true and are stored as 1.
  absl::StatusOr<Tensor> t = parseNpy(npy(dictFor("|b1", "(1,)"), one), "m");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->dataAs<uint8_t>()[0], 1);
  // Keys in any order, double quotes, Python 2 long dims, no trailing comma.
  t = parseNpy(npy("{\"shape\": (2L,), 'fortran_order': False, \"descr\": "
                   "'<i4'}",
                   std::string(8, '\0')),
               "m");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->type().str(), "i32[2]");
  for (const char *d : {"<f8", "<u2", "|f4", "<c8", "<U3", "O", "", "<"})
    expectError(npy(dictFor(d, "(1,)"), std::string(8, '\0')),
                "dtype '" + std::string(d) + "' is not supported");
  expectError(npy(dictFor(">i8", "(1,)"), std::string(8, '\0')),
              "dtype '>i8' is big-endian");
  expectError(npy("{'descr': [('a', '<f4')], 'fortran_order': False, "
                  "'shape': (1,), }",
                  std::string(4, '\0')),
              "structured dtypes are not supported");
}

// ----- malformed files ----------------------------------------------------------

TEST(NpyRead, Malformed) {
  std::string good = npy(dictFor("<f4", "(2, 3)"), std::string(24, '\0'));
  ASSERT_TRUE(parseNpy(good, "m").ok());

  expectError("", "not a .npy file (bad magic)");
  expectError("\x93NUMP", "not a .npy file (bad magic)");
  expectError("PK\x03\x04 this is a zip", "not a .npy file (bad magic)");
  std::string v = good;
  v[6] = 4;
  expectError(v, "unsupported .npy version 4.0");
  v = good;
  v[7] = 1;
  expectError(v, "unsupported .npy version 1.1");
  expectError(good.substr(0, 9), "truncated before the header length");
  expectError(good.substr(0, 40), "truncated header: it claims 118 bytes, the "
                                  "file has 30 after the header length");
  // Version 2 needs four length bytes.
  expectError(std::string("\x93NUMPY\x02\x00\x10\x00", 10),
              "truncated before the header length");

  expectError(npy("", ""), "garbled header at offset 54: expected '{'");
  expectError(npy("{'descr': '<f4', 'fortran_order': False}", ""),
              "header has no 'shape' key");
  expectError(npy("{'fortran_order': False, 'shape': ()}", ""),
              "header has no 'descr' key");
  expectError(npy("{'descr': '<f4', 'shape': ()}", ""),
              "header has no 'fortran_order' key");
  expectError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), "
                  "'extra': 1}",
                  std::string(4, '\0')),
              "unexpected header key 'extra'");
  expectError(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                  "'shape': ()}",
                  std::string(4, '\0')),
              "header key 'descr' appears twice");
  expectError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}",
                  ""),
              "garbled header");
  expectError(npy("{'descr': '<f4 , 'fortran_order': False, 'shape': ()}", ""),
              "garbled header");
  expectError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
                  ""),
              "unexpected text after the dict");
  expectError(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", ""),
              "'fortran_order' must be True or False");
  expectError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", ""),
              "'shape' must be a tuple");
  expectError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}",
                  ""),
              "'shape' must hold integers");
  expectError(npy(dictFor("<f4", "(" + std::string(100, '(')), ""),
              "nested too deeply");
  expectError(npy(dictFor("<f4", "(99999999999999999999,)"), ""),
              "integer out of range");

  expectError(npy(dictFor("<f4", "(2, -3)"), ""),
              "negative dimension -3 in shape (2, -3)");
  expectError(npy(dictFor("<f4", "(1, 1, 1, 1, 1, 1, 1)"), std::string(4, 0)),
              "rank 7 exceeds the maximum rank 6");
  // Element count overflows int64.
  expectError(npy(dictFor("<f4", "(4294967296, 4294967296)"), ""),
              "shape (4294967296, 4294967296) has more bytes than int64 can "
              "count");
  // Byte count overflows int64 although the element count does not.
  expectError(npy(dictFor("<i8", "(2305843009213693952,)"), ""),
              "has more bytes than int64 can count");
  // Huge but countable: refused by the size check, never allocated.
  expectError(npy(dictFor("<f4", "(1099511627776,)"), std::string(8, 0)),
              "data is truncated: shape (1099511627776,) of '<f4' needs "
              "4398046511104 bytes, the file has 8");
  expectError(npy(dictFor("<f4", "(2, 3)"), std::string(20, 0)),
              "data is truncated: shape (2, 3) of '<f4' needs 24 bytes, the "
              "file has 20");
  expectError(npy(dictFor("<f4", "(2, 3)"), std::string(25, 0)),
              "extra bytes after the data: shape (2, 3) of '<f4' needs 24 "
              "bytes, the file has 25");
  expectError(npy(dictFor("<f4", "(0,)"), std::string(1, 0)),
              "extra bytes after the data");
}

// ----- never crash ------------------------------------------------------------

/// parseNpy must return (ok or error) on any input; when it accepts, the
/// tensor's bytes must be fully readable.
void parseAnything(const std::string &bytes) {
  absl::StatusOr<Tensor> t = parseNpy(bytes, "fuzz.npy");
  if (t.ok()) {
    ASSERT_TRUE(t->valid());
    volatile uint8_t sink = 0;
    const uint8_t *p = static_cast<const uint8_t *>(t->data());
    for (int64_t i = 0; i < t->byteSize(); ++i)
      sink = sink ^ p[i];
    (void)sink;
  } else {
    EXPECT_NE(message(t.status()).find("fuzz.npy"), std::string::npos);
  }
}

TEST(NpyRead, TruncationsAndByteFlipsNeverCrash) {
  for (const char *f : {"f32_2x3.npy", "i32_v2.npy", "i32_v3.npy"}) {
    SCOPED_TRACE(f);
    std::string good = fileBytes(fixture(f));
    ASSERT_FALSE(good.empty());
    // Every truncation fails cleanly (the files have no slack).
    for (size_t n = 0; n < good.size(); ++n)
      EXPECT_FALSE(parseNpy(good.substr(0, n), "fuzz.npy").ok()) << n;
    // Every byte, replaced by a few interesting values.
    for (size_t i = 0; i < good.size(); ++i)
      for (int c : {0x00, 0xff, int('('), int(')'), int('-'), int('9'),
                    int('\''), int(',')}) {
        std::string b = good;
        b[i] = static_cast<char>(c);
        parseAnything(b);
      }
  }
  // Random multi-byte corruptions, fixed seed.
  std::string good = fileBytes(fixture("f32_2x3.npy"));
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k)
      b[rng() % b.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0)
      b.resize(rng() % (b.size() + 1));
    parseAnything(b);
  }
}

} // namespace
