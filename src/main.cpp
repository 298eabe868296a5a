#include "core/app.hpp"

int main(int argc, char** argv) { return coreplay::run_app(argc, argv); }
