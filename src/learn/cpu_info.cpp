#include "dodge/learn/cpu_info.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

namespace dodge::learn {

bool CpuInfo::has(const std::string& flag) const {
  std::istringstream in(flags);
  for (std::string f; in >> f;)
    if (f == flag) return true;
  return false;
}

CpuInfo parse_cpuinfo(const std::string& text) {
  CpuInfo c;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) break;  // the first processor only
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    try {
      if (key == "vendor_id")
        c.vendor = value;
      else if (key == "model name")
        c.model_name = value;
      else if (key == "flags")
        c.flags = value;
      else if (key == "cpu family")
        c.family = std::stoi(value);
      else if (key == "model")
        c.model = std::stoi(value);
      else if (key == "cpu MHz")
        c.mhz = std::stod(value);
    } catch (const std::exception&) {
      // an unreadable number stays unknown
    }
  }
  return c;
}

const CpuInfo& this_cpu() {
  static const CpuInfo cpu = [] {
    std::ifstream in("/proc/cpuinfo");
    return parse_cpuinfo(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  }();
  return cpu;
}

bool native_bf16(const CpuInfo& cpu) {
  return cpu.has("avx512_bf16") || cpu.has("amx_bf16");
}

PeakPerCycle peak_per_cycle(const CpuInfo& cpu, bool bf16) {
  const bool amd = cpu.vendor == "AuthenticAMD";
  PeakPerCycle p;
  // fp32 FMA lanes x 2 FLOP x FMA pipes.
  if (cpu.has("avx512f")) {
    if (amd && cpu.family == 25) {
      p = {32, "Zen 4: AVX-512 on two 256-bit FMA pipes, 2 x 8 lanes x 2"};
    } else {
      p = {64, std::string(amd ? "Zen 5" : "AVX-512") + ": two 512-bit FMA pipes, 2 x 16 lanes x 2"};
    }
  } else if (cpu.has("fma") && cpu.has("avx2")) {
    p = {32, "AVX2: two 256-bit FMA pipes, 2 x 8 lanes x 2"};
  } else {
    p = {8, "SSE: 4 lanes, multiply and add"};
  }
  if (!bf16) return p;
  if (cpu.has("amx_bf16")) return {1024, "AMX: a 16x32 bf16 tile multiply per 16 cycles, 1024 FLOP/cycle"};
  if (native_bf16(cpu))
    return {2 * p.flop, "AVX-512 BF16 dot products (vdpbf16ps), twice fp32: " + p.why + " x 2"};
  return {p.flop, "bf16 emulated through fp32 (no AVX-512 BF16 or AMX): " + p.why};
}

}  // namespace dodge::learn
