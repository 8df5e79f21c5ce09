// Checkpoint folders, written atomically: everything goes into "<dir>.tmp", which is renamed to
// <dir> when complete, so a crash or a full disk never leaves a half checkpoint under a real
// name and never destroys the previous one.
//
// A checkpoint folder holds: config.yaml (the resolved config), agent.pt (networks, targets,
// optimizers, entropy coefficient, update counter, learner RNG), trainer.pt (step counters,
// env/sampler/action RNG states, recent episodes), env_state.bin (the training games),
// replay.zst (optional), policy.pt (a dict of CPU tensors for Python's torch.load) and
// manifest.json (architecture, observation shape, stack, action type, step).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dodge/run/config.hpp"

namespace dodge::run {

// Files every complete checkpoint has.
const std::vector<std::string>& checkpoint_files();

// Writes a checkpoint through fill(tmp_dir), then renames it to dir (replacing an older one).
// On failure the temporary is removed, the previous checkpoint stays, and a UserError says why.
void write_checkpoint_atomically(const std::string& dir, const std::function<void(const std::string&)>& fill);

// A run folder -> its newest checkpoint (the highest step among final/ and checkpoints/step_N/);
// a checkpoint folder -> itself. Throws UserError when there is none or a file is missing.
std::string find_checkpoint(const std::string& path);
// The run folder of a checkpoint folder (…/run/checkpoints/step_N -> …/run; …/run/final -> …/run).
std::string run_dir_of_checkpoint(const std::string& checkpoint_dir);
// The step a checkpoint was written at (from its manifest); -1 if unknown.
std::int64_t checkpoint_step(const std::string& checkpoint_dir);

Config load_checkpoint_config(const std::string& checkpoint_dir);
// Whether the checkpoint's config.yaml was written before save_replay_buffer meant auto | true |
// false (it has no train.curriculum) and says false: those versions wrote false as their default,
// which now would drop the buffer on Ctrl-C.
bool replay_false_from_older_version(const std::string& checkpoint_dir);

// Checks that a config matches a checkpoint's on the keys that fix shapes; throws UserError
// naming every differing key.
// `when` ends the message: "on resume", "when playing a checkpoint".
void check_compatible(const Config& config, const Config& checkpoint_config, const std::string& checkpoint_dir,
                      const std::string& when = "on resume");

void write_manifest(const std::string& path, const Config& config, std::int64_t step);

}  // namespace dodge::run
