// libFuzzer entry point: ktc::fuzz::caffe_reader (fuzz/convert_targets.hpp).
#include "convert_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ktc::fuzz::caffe_reader({reinterpret_cast<const char*>(data), size});
    return 0;
}
