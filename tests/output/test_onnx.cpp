// The ONNX writer: byte for byte what the onnx package (1.23, helper.make_model + SerializeToString)
// writes for the same small model, so that any reader of ONNX reads ours; errors; atomic writes.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "dodge/output/onnx.hpp"
#include "dodge/output/write_error.hpp"
#include "test_util.hpp"

namespace onnx = dodge::output::onnx;

namespace {

// Gemm (transB) -> LayerNormalization (axis -1, epsilon) -> Conv (kernel_shape), float weights,
// a symbolic batch, uint8 output, opset 17, IR 8, two metadata entries.
onnx::Model tiny_model() {
  onnx::Model m;
  m.producer_name = "dodge";
  m.producer_version = "0.1.0";
  m.doc = "doc";
  m.graph_name = "tiny";
  m.nodes = {{"Gemm", {"x", "w", "b"}, {"g"}, "g", {onnx::Attribute::integer("transB", 1)}},
             {"LayerNormalization",
              {"g", "s", "b"},
              {"y"},
              "y",
              {onnx::Attribute::integer("axis", -1), onnx::Attribute::real("epsilon", 1e-5f)}},
             {"Conv", {"y"}, {"z"}, "z", {onnx::Attribute::integers("kernel_shape", {3, 3})}}};
  m.initializers = {
      {"w", {2, 2}, {1.5f, -2.0f, 0.25f, 3.0f}}, {"b", {2}, {0.5f, -0.125f}}, {"s", {2}, {1.0f, 1.0f}}};
  m.inputs = {{"x", onnx::DataType::Float, {{0, "batch"}, {2, ""}}, ""}};
  m.outputs = {{"z", onnx::DataType::Uint8, {{0, "batch"}, {2, ""}}, ""}};
  m.metadata = {{"k1", "v1"}, {"k2", "v2"}};
  return m;
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

}  // namespace

TEST_CASE("the ONNX writer writes what the onnx package writes", "[onnx]") {
  const std::string expected =
      "08081205646f6467651a05302e312e303203646f633a99020a240a01780a01770a01621201671a0167220447656d6d2a0d0a06"
      "7472"
      "616e73421801a001020a4c0a01670a01730a01621201791a017922124c617965724e6f726d616c697a6174696f6e2a140a0461"
      "78"
      "697318ffffffffffffffffff01a001022a110a07657073696c6f6e15acc52737a001010a260a017912017a1a017a2204436f6e"
      "76"
      "2a150a0c6b65726e656c5f736861706540034003a00107120474696e792a1b0802080210014201774a100000c03f000000c000"
      "00"
      "803e000040402a11080210014201624a080000003f000000be2a11080210014201734a080000803f0000803f5a180a01781213"
      "0a"
      "110801120d0a07120562617463680a02080262180a017a12130a110802120d0a07120562617463680a02080242040a00101172"
      "08"
      "0a026b311202763172080a026b3212027632";
  CHECK(hex(onnx::serialize(tiny_model())) == expected);
}

TEST_CASE("the ONNX writer refuses an initializer of the wrong size", "[onnx]") {
  onnx::Model m = tiny_model();
  m.initializers[0].values.pop_back();
  CHECK_THROWS_WITH(onnx::serialize(m),
                    Catch::Contains("onnx initializer w") && Catch::Contains("3 values for 4"));
}

TEST_CASE("onnx::write writes the file whole or not at all", "[onnx]") {
  TempDir tmp("onnx_write");
  const std::string path = tmp.file("m.onnx");
  onnx::write(tiny_model(), path);
  std::ifstream f(path, std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(f), {}) == onnx::serialize(tiny_model()));
  // A folder that is not there: a WriteError naming the path, and nothing left anywhere.
  const std::string bad = tmp.file("missing/m.onnx");
  CHECK_THROWS_AS(onnx::write(tiny_model(), bad), dodge::output::WriteError);
  CHECK_THROWS_WITH(onnx::write(tiny_model(), bad), Catch::Contains(bad));
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path)) files += e.is_regular_file();
  CHECK(files == 1);
}
