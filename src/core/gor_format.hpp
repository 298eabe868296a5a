// Constants of gor's record format.
#pragma once

#include <string_view>

namespace coreplay {

// Ends every record in gor files, stdout and TCP streams: "\n🐵🙈🙉\n".
inline constexpr std::string_view gor_separator = "\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n";

}  // namespace coreplay
