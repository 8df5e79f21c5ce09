// ONNX model files without the onnx library: a graph of nodes, float initializers and typed inputs
// and outputs, written in protobuf's wire format (the fields of onnx.proto that such a graph uses,
// in field order, as the onnx package writes them). `dodge export --onnx` builds its actor graph in
// these types (run/onnx_export.hpp); onnx.checker and ONNX Runtime read the result (tests/onnx/).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dodge::output::onnx {

// TensorProto.DataType values.
enum class DataType : std::int32_t { Float = 1, Uint8 = 2, Int64 = 7 };

// A float tensor stored in the model (weights), row-major.
struct Initializer {
  std::string name;
  std::vector<std::int64_t> dims;
  std::vector<float> values;  // product(dims) values
};

// A node attribute: one integer, a list of integers or one float.
struct Attribute {
  enum class Kind { Int, Ints, Float };
  std::string name;
  Kind kind = Kind::Int;
  std::int64_t i = 0;
  std::vector<std::int64_t> ints;
  float f = 0.0f;
  static Attribute integer(std::string name, std::int64_t v) {
    return {std::move(name), Kind::Int, v, {}, 0.0f};
  }
  static Attribute integers(std::string name, std::vector<std::int64_t> v) {
    return {std::move(name), Kind::Ints, 0, std::move(v), 0.0f};
  }
  static Attribute real(std::string name, float v) { return {std::move(name), Kind::Float, 0, {}, v}; }
};

struct Node {
  std::string op_type;  // an operator of the default domain ("Conv", "Gemm", ...)
  std::vector<std::string> inputs, outputs;
  std::string name;
  std::vector<Attribute> attributes;
};

// A dimension: a fixed size, or a named symbolic one ("batch") when param is not empty.
struct Dim {
  std::int64_t value = 0;
  std::string param;
};

// A graph input or output: name, element type and shape.
struct ValueInfo {
  std::string name;
  DataType type = DataType::Float;
  std::vector<Dim> shape;
  std::string doc;
};

struct Model {
  std::int64_t ir_version = 8;  // ONNX 1.12's IR, the one that introduced opset 17
  std::int64_t opset = 17;      // of the default domain ("")
  std::string producer_name, producer_version, doc;
  std::string graph_name;
  std::vector<Node> nodes;  // in topological order
  std::vector<Initializer> initializers;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> metadata;  // ModelProto.metadata_props
};

// The model as the bytes of an ONNX file (a serialized ModelProto). Throws std::invalid_argument
// when an initializer's values do not fill its dims.
std::string serialize(const Model& model);

// Writes serialize(model) to path through a temporary file in the same folder, renamed when
// complete: a failed write leaves no file. Throws output::WriteError naming the path.
void write(const Model& model, const std::string& path);

}  // namespace dodge::output::onnx
