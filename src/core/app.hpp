#pragma once

namespace coreplay {

// The coreplay command: parses flags or a pipeline file, runs the pipeline, returns the exit
// code (0 done or stopped, 1 a plugin failed, 2 bad configuration).
int run_app(int argc, char** argv);

}  // namespace coreplay
