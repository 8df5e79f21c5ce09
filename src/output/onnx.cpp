// ONNX files in protobuf's wire format. Field numbers are onnx.proto's (stable across ONNX versions:
// fields are only ever added). onnx.proto is proto2, so repeated integers are written unpacked, and
// every message's fields go out in field-number order, as the onnx package serializes them.
#include "dodge/output/onnx.hpp"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "dodge/output/write_error.hpp"

namespace dodge::output::onnx {

namespace {

enum WireType : std::uint32_t { kVarint = 0, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, std::uint32_t field, WireType wire) {
  put_varint(out, field << 3 | wire);
}

// int64 and enum fields: negative values as their two's complement (ten bytes), as protobuf does.
void put_int(std::string& out, std::uint32_t field, std::int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<std::uint64_t>(v));
}

void put_bytes(std::string& out, std::uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

void put_string_if(std::string& out, std::uint32_t field, const std::string& s) {
  if (!s.empty()) put_bytes(out, field, s);
}

// Little-endian IEEE bytes whatever the host's order (TensorProto.raw_data and fixed32 fields).
void append_float_le(std::string& out, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(bits >> (8 * i) & 0xff));
}

// AttributeProto: name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7).
std::string attribute(const Attribute& a) {
  std::string m;
  put_bytes(m, 1, a.name);
  switch (a.kind) {
    case Attribute::Kind::Float:
      put_key(m, 2, kFixed32);
      append_float_le(m, a.f);
      put_int(m, 20, 1);
      break;
    case Attribute::Kind::Int:
      put_int(m, 3, a.i);
      put_int(m, 20, 2);
      break;
    case Attribute::Kind::Ints:
      for (auto v : a.ints) put_int(m, 8, v);
      put_int(m, 20, 7);
      break;
  }
  return m;
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
std::string node(const Node& n) {
  std::string m;
  for (const auto& s : n.inputs) put_bytes(m, 1, s);
  for (const auto& s : n.outputs) put_bytes(m, 2, s);
  put_string_if(m, 3, n.name);
  put_bytes(m, 4, n.op_type);
  for (const auto& a : n.attributes) put_bytes(m, 5, attribute(a));
  return m;
}

// TensorProto: dims 1, data_type 2, name 8, raw_data 9.
std::string tensor(const Initializer& t) {
  std::int64_t count = 1;
  for (auto d : t.dims) count *= d;
  if (count != static_cast<std::int64_t>(t.values.size()))
    throw std::invalid_argument("onnx initializer " + t.name + ": " + std::to_string(t.values.size()) +
                                " values for " + std::to_string(count) + " elements");
  std::string m;
  for (auto d : t.dims) put_int(m, 1, d);
  put_int(m, 2, static_cast<std::int64_t>(DataType::Float));
  put_bytes(m, 8, t.name);
  std::string raw;
  raw.reserve(4 * t.values.size());
  for (float v : t.values) append_float_le(raw, v);
  put_bytes(m, 9, raw);
  return m;
}

// ValueInfoProto{name 1, type 2, doc_string 3}; TypeProto{tensor_type 1}; TypeProto.Tensor{elem_type 1,
// shape 2}; TensorShapeProto{dim 1}; Dimension{dim_value 1, dim_param 2}.
std::string value_info(const ValueInfo& v) {
  std::string shape;
  for (const auto& d : v.shape) {
    std::string dim;
    if (d.param.empty())
      put_int(dim, 1, d.value);
    else
      put_bytes(dim, 2, d.param);
    put_bytes(shape, 1, dim);
  }
  std::string tensor_type;
  put_int(tensor_type, 1, static_cast<std::int64_t>(v.type));
  put_bytes(tensor_type, 2, shape);
  std::string type;
  put_bytes(type, 1, tensor_type);
  std::string m;
  put_bytes(m, 1, v.name);
  put_bytes(m, 2, type);
  put_string_if(m, 3, v.doc);
  return m;
}

// GraphProto: node 1, name 2, initializer 5, input 11, output 12.
std::string graph(const Model& model) {
  std::string m;
  for (const auto& n : model.nodes) put_bytes(m, 1, node(n));
  put_bytes(m, 2, model.graph_name);
  for (const auto& t : model.initializers) put_bytes(m, 5, tensor(t));
  for (const auto& v : model.inputs) put_bytes(m, 11, value_info(v));
  for (const auto& v : model.outputs) put_bytes(m, 12, value_info(v));
  return m;
}

}  // namespace

// ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
// opset_import 8 (OperatorSetIdProto{domain 1, version 2}), metadata_props 14 ({key 1, value 2}).
std::string serialize(const Model& model) {
  std::string m;
  put_int(m, 1, model.ir_version);
  put_string_if(m, 2, model.producer_name);
  put_string_if(m, 3, model.producer_version);
  put_string_if(m, 6, model.doc);
  put_bytes(m, 7, graph(model));
  std::string opset;
  put_bytes(opset, 1, "");  // the default domain, written explicitly as the onnx package does
  put_int(opset, 2, model.opset);
  put_bytes(m, 8, opset);
  for (const auto& [key, value] : model.metadata) {
    std::string entry;
    put_bytes(entry, 1, key);
    put_bytes(entry, 2, value);
    put_bytes(m, 14, entry);
  }
  return m;
}

void write(const Model& model, const std::string& path) {
  namespace fs = std::filesystem;
  const std::string bytes = serialize(model);
  // A hidden temporary beside the target (same file system, so the rename is atomic).
  const fs::path target(path);
  const fs::path tmp =
      target.parent_path() / ("." + target.filename().string() + ".tmp" + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw WriteError(path + ": cannot write the file (is the folder there and writable?)");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw WriteError(path + ": writing the file failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw WriteError(path + ": cannot write the file (" + ec.message() + ")");
  }
}

}  // namespace dodge::output::onnx
