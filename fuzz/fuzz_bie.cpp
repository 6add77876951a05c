// libFuzzer entry point: ktc::fuzz::bie_reader (fuzz/targets.hpp).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ktc::fuzz::bie_reader({reinterpret_cast<const char*>(data), size});
    return 0;
}
