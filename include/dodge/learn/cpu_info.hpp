// What the CPU is and what it computes at most: read from /proc/cpuinfo once. Used to choose the
// precision (native bf16 or not) and to set the update's arithmetic against the machine's peak.
#pragma once

#include <string>

namespace dodge::learn {

struct CpuInfo {
  std::string vendor, model_name, flags;  // flags: the "flags" line, space separated
  int family = -1, model = -1;
  double mhz = 0;          // "cpu MHz": the clock now (bare metal: maybe idle; a VM: the nominal one)
  int logical_cpus = 0;    // "processor" entries (SMT siblings count once each)
  int physical_cores = 0;  // distinct (physical id, core id) pairs; logical_cpus without core ids
  bool has(const std::string& flag) const;
};

// Parses the text of /proc/cpuinfo: the first processor's lines, and the topology of all.
CpuInfo parse_cpuinfo(const std::string& text);
// This machine's, read once.
const CpuInfo& this_cpu();

// Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX). Without it oneDNN emulates bf16,
// 10-20x slower than fp32.
bool native_bf16(const CpuInfo& cpu);

// Floating-point operations one core can retire per cycle at most (FMA = 2), for fp32 or bf16
// arithmetic, and how that figure was reached, in words (the microarchitecture's row, or a guess
// from the instruction sets where the model is not in the table).
struct PeakPerCycle {
  double flop = 0;
  std::string why;
};
PeakPerCycle peak_per_cycle(const CpuInfo& cpu, bool bf16);

// The clock for a peak: the highest the system states, and where it was read.
struct PeakClock {
  double ghz = 0;
  std::string source;
};
// cpufreq_max_khz: the text of /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq ("" where
// absent, as in most VMs). Else the model name's "@ 2.60GHz", else "cpu MHz".
PeakClock peak_clock(const CpuInfo& cpu, const std::string& cpufreq_max_khz);
// This machine's.
PeakClock this_peak_clock();

// Cores computing at once: LibTorch's threads, at most one per physical core (SMT siblings share
// one core's FMA units).
int peak_cores(int torch_threads, const CpuInfo& cpu);

}  // namespace dodge::learn
