#pragma once
// The image encoders' first layer and the smallest image they read, without torch: the networks,
// the checkpoint manifest and the config check (before any run folder exists) use these.

namespace dodge::learn {

struct Conv1Shape {
  int kernel = 8;
  int stride = 4;
};

// sac.conv1_kernel / conv1_stride as the encoder builds them (0: the encoder's own, nature 8/4, drq 3/2).
inline Conv1Shape conv1_shape(bool nature, int kernel, int stride) {
  return {kernel > 0 ? kernel : nature ? 8 : 3, stride > 0 ? stride : nature ? 4 : 2};
}

// The smallest side that leaves one output of the last layer: the first layer must give the later
// ones 8 rows (nature: 4x4/2, 3x3/1) or 7 (drq: three 3x3/1).
inline int min_image_side(bool nature, Conv1Shape c) {
  const int rest = nature ? 8 : 7;
  return (rest - 1) * c.stride + c.kernel;
}

}  // namespace dodge::learn
