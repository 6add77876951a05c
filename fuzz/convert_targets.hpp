// fuzz/convert_targets.hpp - the converters' fuzz targets (TFLite, Caffe): like fuzz/targets.hpp,
// shared by the libFuzzer entry points and the corpus replay (tests/convert/test_convert_fuzz_corpus.cpp),
// apart because they need ktc::convert (FlatBuffers, HDF5). The converters read files, so each
// input is written to a per-process temporary folder first.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include "ktc/convert/caffe.hpp"
#include "ktc/convert/tflite.hpp"
#include "targets.hpp"

namespace ktc::fuzz {

namespace detail {

// A folder of this process's own, removed when the process ends (the converters read files).
struct scratch_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("ktc-fuzz-" + std::to_string(::getpid()));
    scratch_dir() { std::filesystem::create_directories(path); }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

inline std::filesystem::path scratch_file(const std::string& name, std::string_view bytes) {
    static const scratch_dir dir;
    const auto path = dir.path / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

inline outcome run_converted(const graph::graph& g) {
    return read_and_run([&](inference_options& o) { o.onnx = &g; });
}

}  // namespace detail

inline outcome tflite_reader(std::string_view bytes) {
    std::optional<graph::graph> g;
    try {
        g.emplace(convert::from_tflite(detail::scratch_file("model.tflite", bytes)));
    } catch (const ktc::error&) {
        return outcome::refused;
    }
    return detail::run_converted(*g);
}

// The input is a prototxt and a caffemodel: a 4-byte little-endian length of the prototxt, the
// prototxt, then the caffemodel (tools/fuzz_seeds.sh writes the seeds so).
// An input too short to hold that split is `refused` without reaching the converter.
inline outcome caffe_reader(std::string_view bytes) {
    if (bytes.size() < 4) return outcome::refused;
    std::uint32_t text_length = 0;
    std::memcpy(&text_length, bytes.data(), 4);
    bytes.remove_prefix(4);
    if (text_length > bytes.size()) return outcome::refused;
    std::optional<graph::graph> g;
    try {
        const auto prototxt = detail::scratch_file("net.prototxt", bytes.substr(0, text_length));
        const auto caffemodel = detail::scratch_file("net.caffemodel", bytes.substr(text_length));
        g.emplace(convert::from_caffe(prototxt, caffemodel));
    } catch (const ktc::error&) {
        return outcome::refused;
    }
    return detail::run_converted(*g);
}

}  // namespace ktc::fuzz
