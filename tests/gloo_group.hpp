// Several ranks in one test process: an in-process CPU group on the loopback (one thread per rank).
// Include after torch_catch.hpp.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>

#include "dodge/run/distributed.hpp"
#include "skip.hpp"

// Whether this build has Gloo; without it the caller returns (CTest: skipped).
inline bool have_gloo() {
  bool gloo = false;
  for (const auto& b : dodge::run::dist_backends()) gloo = gloo || b == "gloo";
  return available_or_skip(gloo, "this build has no Gloo (libgloo-dev): the several-ranks tests do not run");
}

// A TCP port nobody listens on right now.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Rank `rank` of an in-process CPU group (one thread per rank) on the loopback.
inline std::unique_ptr<dodge::run::ProcessGroup> join_cpu_group(int rank, int world, int port) {
  dodge::run::DistEnv env;
  env.rank = rank;
  env.world_size = world;
  env.master_port = port;
  return dodge::run::ProcessGroup::connect(env, torch::kCPU, std::chrono::seconds(60));
}
