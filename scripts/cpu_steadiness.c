// How steady the machine's vector arithmetic is, second by second: each thread runs an AVX
// multiply-add loop on data in L1 and prints its rate (thousands of loops a second) every
// second. On a steady machine the figures stay within a few per cent; a shared host's swings
// show up here before they show up as noise in `dodge bench` or a training's updates/s.
//   cc -O3 -march=native -pthread -o /tmp/cpu_steadiness scripts/cpu_steadiness.c
//   /tmp/cpu_steadiness [threads=2] [seconds=40]
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_long loops[64];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* work(void* arg) {
  const long id = (long)arg;
  float y[1024] __attribute__((aligned(64)));
  for (int i = 0; i < 1024; i++) y[i] = (float)i;
  for (;;) {
    for (int r = 0; r < 10; r++) {
      for (int i = 0; i < 1024; i++) y[i] = y[i] * 0.9999f + 0.0001f;
      __asm__ volatile("" ::"r"(y) : "memory");  // keeps the loop from being folded away
    }
    atomic_fetch_add(&loops[id], 1);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2, secs = argc > 2 ? atoi(argv[2]) : 40;
  if (n < 1 || n > 64 || secs < 1) {
    fprintf(stderr, "usage: %s [threads 1-64] [seconds >= 1]\n", argv[0]);
    return 2;
  }
  pthread_t t[64];
  for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, work, (void*)i);
  long prev[64] = {0};
  double t0 = now();
  for (int s = 0; s < secs; s++) {
    const struct timespec second = {1, 0};
    nanosleep(&second, NULL);
    const double t1 = now();
    printf("%3d s", s + 1);
    for (int i = 0; i < n; i++) {
      const long c = atomic_load(&loops[i]);
      printf(" %8.1f", (c - prev[i]) / (t1 - t0) / 1e3);
      prev[i] = c;
    }
    printf("\n");
    fflush(stdout);
    t0 = t1;
  }
  return 0;
}
