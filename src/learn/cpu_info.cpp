#include "dodge/learn/cpu_info.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

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
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  std::string physical_id, core_id;
  bool in_block = false, first_block = true, every_block_has_core_id = true;
  auto end_block = [&] {
    if (!in_block) return;
    ++c.logical_cpus;
    if (core_id.empty()) every_block_has_core_id = false;
    cores.emplace(physical_id, core_id);
    physical_id.clear();
    core_id.clear();
    in_block = false;
    first_block = false;
  };
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      end_block();
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    in_block = true;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (key == "physical id") physical_id = value;
    if (key == "core id") core_id = value;
    if (!first_block) continue;  // the rest only from the first processor
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
  end_block();
  c.physical_cores = every_block_has_core_id ? static_cast<int>(cores.size()) : c.logical_cpus;
  return c;
}

namespace {
std::string read_text(const char* path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

const CpuInfo& this_cpu() {
  static const CpuInfo cpu = parse_cpuinfo(read_text("/proc/cpuinfo"));
  return cpu;
}

bool native_bf16(const CpuInfo& cpu) {
  return cpu.has("avx512_bf16") || cpu.has("amx_bf16");
}

namespace {

constexpr const char* kAmd = "AuthenticAMD";
constexpr const char* kIntel = "GenuineIntel";

// One microarchitecture's peak per core and cycle: fp32 FMA (2 FLOP) x lanes x FMA units at its
// widest vector width, and bf16 with AVX-512 BF16 dot products (vdpbf16ps: 2 bf16 multiply-adds
// per fp32 lane) where the chip has them. Models as /proc/cpuinfo's decimal "model", written in
// hex as the vendors' documents do. Sources: AMD's and Intel's optimisation manuals, Agner Fog's
// microarchitecture guide, uops.info.
struct Uarch {
  const char* vendor;
  int family, model_lo, model_hi;
  const char* name;
  double fp32, bf16;
  bool amx;  // the chip has AMX (a row without it, on flags with AMX, is a hypervisor's model number)
};
// clang-format off
constexpr Uarch kUarchs[] = {
  // AMD family 23 (0x17). Zen, Zen+: two 128-bit FMA pipes; 256-bit AVX2 runs as two halves.
  {kAmd, 23, 0x00, 0x2f, "AMD Zen/Zen+ (2 x 128-bit FMA)", 16, 16, false},
  // Zen 2 (Rome 0x31, Renoir 0x60, Matisse 0x71, ...): two 256-bit FMA pipes.
  {kAmd, 23, 0x30, 0xaf, "AMD Zen 2 (2 x 256-bit FMA)", 32, 32, false},
  // AMD family 25 (0x19). Zen 3 (Milan 0x01, Vermeer 0x21, Rembrandt 0x44, Cezanne 0x50): two
  // 256-bit FMA pipes, no AVX-512.
  {kAmd, 25, 0x00, 0x0f, "AMD Zen 3 (2 x 256-bit FMA)", 32, 32, false},
  {kAmd, 25, 0x20, 0x2f, "AMD Zen 3 (2 x 256-bit FMA)", 32, 32, false},
  {kAmd, 25, 0x40, 0x5f, "AMD Zen 3 (2 x 256-bit FMA)", 32, 32, false},
  // Zen 4 (Genoa 0x11, Raphael 0x61, Phoenix 0x74, Bergamo 0xa0): AVX-512 executed as 2 x 256 bits
  // on the two 256-bit FMA pipes, so no more fp32 FLOP than AVX2; vdpbf16ps doubles it.
  {kAmd, 25, 0x10, 0x1f, "AMD Zen 4 (AVX-512 on 2 x 256-bit FMA)", 32, 64, false},
  {kAmd, 25, 0x60, 0x7f, "AMD Zen 4 (AVX-512 on 2 x 256-bit FMA)", 32, 64, false},
  {kAmd, 25, 0xa0, 0xaf, "AMD Zen 4 (AVX-512 on 2 x 256-bit FMA)", 32, 64, false},
  // AMD family 26 (0x1a). Zen 5 server and desktop (Turin 0x02, Turin Dense 0x11, Granite Ridge
  // 0x44): full 512-bit datapath, two 512-bit FMA pipes.
  {kAmd, 26, 0x00, 0x1f, "AMD Zen 5 (2 x 512-bit FMA)", 64, 128, false},
  {kAmd, 26, 0x40, 0x4f, "AMD Zen 5 (2 x 512-bit FMA)", 64, 128, false},
  // Zen 5 mobile (Strix Point 0x24, Krackan Point 0x60): a 256-bit datapath as Zen 4's.
  {kAmd, 26, 0x20, 0x2f, "AMD Zen 5 mobile (AVX-512 on 2 x 256-bit FMA)", 32, 64, false},
  {kAmd, 26, 0x60, 0x6f, "AMD Zen 5 mobile (AVX-512 on 2 x 256-bit FMA)", 32, 64, false},
  // Intel family 6. Haswell, Broadwell, Skylake client and its refreshes (Kaby, Coffee, Comet
  // Lake): AVX2 on two 256-bit FMA units (ports 0 and 1).
  {kIntel, 6, 0x3c, 0x3c, "Intel Haswell (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x3f, 0x3f, "Intel Haswell-EP (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x45, 0x46, "Intel Haswell (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x3d, 0x3d, "Intel Broadwell (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x47, 0x47, "Intel Broadwell (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x4f, 0x4f, "Intel Broadwell-EP (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x56, 0x56, "Intel Broadwell-DE (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x4e, 0x4e, "Intel Skylake client (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x5e, 0x5e, "Intel Skylake client (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x8e, 0x8e, "Intel Kaby/Coffee/Whiskey Lake (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0x9e, 0x9e, "Intel Kaby/Coffee Lake (2 x 256-bit FMA)", 32, 32, false},
  {kIntel, 6, 0xa5, 0xa6, "Intel Comet Lake (2 x 256-bit FMA)", 32, 32, false},
  // Skylake-SP, Cascade Lake, Cooper Lake (0x55): a second 512-bit FMA unit on port 5 in Platinum,
  // Gold 6xxx and W parts; one in Silver, Bronze and most Gold 5xxx (see skylake_sp_one_fma).
  {kIntel, 6, 0x55, 0x55, "Intel Skylake-SP/Cascade Lake/Cooper Lake server (2 x 512-bit FMA)", 64, 128, false},
  // Client AVX-512 (Cannon Lake 0x66, Ice Lake 0x7d/0x7e, Tiger Lake 0x8c/0x8d, Rocket Lake 0xa7):
  // ports 0 and 1 fused into one 512-bit FMA unit; port 5's is server-only.
  {kIntel, 6, 0x66, 0x66, "Intel Cannon Lake client (1 x 512-bit FMA)", 32, 64, false},
  {kIntel, 6, 0x7d, 0x7e, "Intel Ice Lake client (1 x 512-bit FMA)", 32, 64, false},
  {kIntel, 6, 0x8c, 0x8d, "Intel Tiger Lake client (1 x 512-bit FMA)", 32, 64, false},
  {kIntel, 6, 0xa7, 0xa7, "Intel Rocket Lake client (1 x 512-bit FMA)", 32, 64, false},
  // Server AVX-512 with two FMA units: Ice Lake-SP (0x6a, 0x6c), and with AMX Sapphire Rapids
  // (0x8f), Emerald Rapids (0xcf), Granite Rapids (0xad, 0xae).
  {kIntel, 6, 0x6a, 0x6a, "Intel Ice Lake server (2 x 512-bit FMA)", 64, 128, false},
  {kIntel, 6, 0x6c, 0x6c, "Intel Ice Lake server (2 x 512-bit FMA)", 64, 128, false},
  {kIntel, 6, 0x8f, 0x8f, "Intel Sapphire Rapids (2 x 512-bit FMA, AMX)", 64, 128, true},
  {kIntel, 6, 0xcf, 0xcf, "Intel Emerald Rapids (2 x 512-bit FMA, AMX)", 64, 128, true},
  {kIntel, 6, 0xad, 0xae, "Intel Granite Rapids (2 x 512-bit FMA, AMX)", 64, 128, true},
  // Hybrid client parts without AVX-512 (Alder Lake 0x97/0x9a, Raptor Lake 0xb7/0xba/0xbf, Meteor
  // Lake 0xaa/0xac, Lunar Lake 0xbd, Arrow Lake 0xc5/0xc6): P-cores two 256-bit FMA units; E-cores
  // (Gracemont and later) two 128-bit ones, half this.
  {kIntel, 6, 0x97, 0x97, "Intel Alder Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0x9a, 0x9a, "Intel Alder Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xb7, 0xb7, "Intel Raptor Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xba, 0xba, "Intel Raptor Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xbf, 0xbf, "Intel Raptor Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xaa, 0xaa, "Intel Meteor Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xac, 0xac, "Intel Meteor Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xbd, 0xbd, "Intel Lunar Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  {kIntel, 6, 0xc5, 0xc6, "Intel Arrow Lake (P-cores 2 x 256-bit FMA; E-cores half)", 32, 32, false},
  // Sierra Forest (0xaf): E-cores only (Crestmont), two 128-bit FMA units.
  {kIntel, 6, 0xaf, 0xaf, "Intel Sierra Forest (E-cores, 2 x 128-bit FMA)", 16, 16, false},
};
// clang-format on

const Uarch* find_uarch(const CpuInfo& cpu) {
  for (const Uarch& u : kUarchs)
    if (cpu.vendor == u.vendor && cpu.family == u.family && cpu.model >= u.model_lo &&
        cpu.model <= u.model_hi)
      return &u;
  return nullptr;
}

// Xeon Scalable of the first two generations with one 512-bit FMA unit: Silver, Bronze, and Gold
// 5xxx but the 5122 and 5222 (Intel's product briefs list "AVX-512 FMA units: 1").
bool skylake_sp_one_fma(const std::string& model_name) {
  if (model_name.find("Silver") != std::string::npos || model_name.find("Bronze") != std::string::npos)
    return true;
  const auto gold = model_name.find("Gold 5");
  return gold != std::string::npos && model_name.compare(gold, 9, "Gold 5122") != 0 &&
         model_name.compare(gold, 9, "Gold 5222") != 0;
}

std::string family_model(const CpuInfo& cpu) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "family %d model %d (0x%x)", cpu.family, cpu.model,
                cpu.model < 0 ? 0 : cpu.model);
  return buf;
}

}  // namespace

PeakPerCycle peak_per_cycle(const CpuInfo& cpu, bool bf16) {
  // What the flags allow this process to run, whatever the chip: a VM may hide AVX-512.
  const bool avx512 = cpu.has("avx512f"), avx2 = cpu.has("fma") && cpu.has("avx2");
  const double isa_cap = avx512 ? 1e9 : avx2 ? 32 : 8;
  const Uarch* u = find_uarch(cpu);
  std::string distrust;
  if (u && cpu.has("amx_tile") && !u->amx) {
    distrust = std::string("; ") + family_model(cpu) + " would be " + u->name +
               ", which has no AMX: the model number is a hypervisor's";
    u = nullptr;
  }
  PeakPerCycle p;
  double native = 0;  // with AVX-512 BF16 dot products
  if (u) {
    p = {u->fp32, std::string(u->name) + ", " + family_model(cpu) + ": " +
                      std::to_string(static_cast<int>(u->fp32)) + " fp32 FLOP/cycle (table)"};
    native = u->bf16;
    if (u->family == 6 && u->model_lo == 0x55 && skylake_sp_one_fma(cpu.model_name)) {
      p = {32, "Intel Skylake-SP/Cascade Lake with one 512-bit FMA unit (" + cpu.model_name +
                   "): 32 fp32 FLOP/cycle (table)"};
      native = 64;
    }
    if (p.flop > isa_cap) {
      p.flop = isa_cap;
      p.why += avx2 ? "; without AVX-512 in the flags: AVX2, 2 x 8 lanes x 2 = 32"
                    : "; without AVX2/FMA in the flags: 8";
      native = p.flop;
    }
  } else {
    const std::string guess = "a guess: " + family_model(cpu) + " of " +
                              (cpu.vendor.empty() ? "?" : cpu.vendor) + " is not in the table" + distrust +
                              "; ";
    if (avx512)
      p = {64, guess +
                   "AVX-512 taken as two 512-bit FMA units (server parts; client parts and Zen 4 have half), "
                   "2 x 16 lanes x 2 = 64"};
    else if (avx2)
      p = {32, guess + "AVX2: two 256-bit FMA units, 2 x 8 lanes x 2 = 32"};
    else
      p = {8, guess + "SSE: 4 lanes, a multiply and an add = 8"};
    native = 2 * p.flop;
  }
  if (!bf16) return p;
  // AMX: a 16x32 by 32x16 bf16 tile multiply-add in 16 cycles, 512 multiply-adds per cycle
  // (Intel: "1024 BF16 ops/cycle/core").
  if (cpu.has("amx_bf16")) return {1024, "AMX: 1024 bf16 FLOP/cycle (" + p.why + ")"};
  if (native_bf16(cpu))
    return {native, "AVX-512 BF16 dot products (vdpbf16ps): " + std::to_string(static_cast<int>(native)) +
                        " bf16 FLOP/cycle (" + p.why + ")"};
  return {p.flop, "bf16 emulated through fp32 (no AVX-512 BF16 or AMX): " + p.why};
}

PeakClock peak_clock(const CpuInfo& cpu, const std::string& cpufreq_max_khz) {
  try {
    const double khz = std::stod(cpufreq_max_khz);
    if (khz > 0)
      return {khz / 1e6,
              "cpufreq cpuinfo_max_freq (the highest clock the kernel lets a core run at, boost included)"};
  } catch (const std::exception&) {
    // absent or unreadable: the next source
  }
  // Intel's names state the nominal (base) clock: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz".
  const auto at = cpu.model_name.rfind('@');
  if (at != std::string::npos) {
    try {
      const std::string rest = cpu.model_name.substr(at + 1);
      std::size_t used = 0;
      const double v = std::stod(rest, &used);
      std::string unit = rest.substr(used);
      unit.erase(0, unit.find_first_not_of(" \t"));
      unit = unit.substr(0, 3);
      if (v > 0 && (unit == "GHz" || unit == "MHz"))
        return {unit == "GHz" ? v : v / 1000.0,
                "the model name's nominal clock (" + cpu.model_name.substr(at) + ")"};
    } catch (const std::exception&) {
      // no number after '@'
    }
  }
  if (cpu.mhz > 0)
    return {
        cpu.mhz / 1000.0,
        "/proc/cpuinfo's cpu MHz (the clock when read: a VM's nominal one; bare metal may have been idling)"};
  return {0, "unknown (no cpufreq, no clock in the model name, no cpu MHz)"};
}

PeakClock this_peak_clock() {
  return peak_clock(this_cpu(), read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"));
}

int peak_cores(int torch_threads, const CpuInfo& cpu) {
  const int cores = cpu.physical_cores > 0 ? cpu.physical_cores : torch_threads;
  return std::max(1, std::min(torch_threads, cores));
}

}  // namespace dodge::learn
