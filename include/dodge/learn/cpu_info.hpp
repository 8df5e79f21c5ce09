// What the CPU is and what it computes at most: read from /proc/cpuinfo once. Used to choose the
// precision (native bf16 or not) and to set the update's arithmetic against the machine's peak.
#pragma once

#include <string>

namespace dodge::learn {

struct CpuInfo {
  std::string vendor, model_name, flags;  // flags: the "flags" line, space separated
  int family = -1, model = -1;
  double mhz = 0;  // the "cpu MHz" line (a VM reports the nominal clock)
  bool has(const std::string& flag) const;
};

// Parses the text of /proc/cpuinfo (the first processor's lines).
CpuInfo parse_cpuinfo(const std::string& text);
// This machine's, read once.
const CpuInfo& this_cpu();

// Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX). Without it oneDNN emulates bf16,
// 10-20x slower than fp32.
bool native_bf16(const CpuInfo& cpu);

// Floating-point operations one core can retire per cycle at most (FMA = 2), for fp32 or bf16
// arithmetic, and how that figure was reached, in words.
struct PeakPerCycle {
  double flop = 0;
  std::string why;
};
PeakPerCycle peak_per_cycle(const CpuInfo& cpu, bool bf16);

}  // namespace dodge::learn
