// libFuzzer entry point: ktc::fuzz::tflite_reader (fuzz/convert_targets.hpp).
#include "convert_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ktc::fuzz::tflite_reader({reinterpret_cast<const char*>(data), size});
    return 0;
}
