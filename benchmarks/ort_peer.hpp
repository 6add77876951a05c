// benchmarks/ort_peer.hpp - the peer every benchmark measures against: ONNX Runtime
// (onnxruntime-node, CPU, 1 intra-op thread) timed by ort_latency.js in the same run.
#pragma once

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ktc::bench {

// Median latency in ms of `runs` runs of `model` on `input` (.npy, float32), after one warm-up.
inline double ort_median_ms(const std::filesystem::path& model, const std::filesystem::path& input, int runs) {
    const std::filesystem::path script = std::filesystem::path(KTC_BENCHMARK_DIR) / "ort_latency.js";
    const std::string cmd =
        "node '" + script.string() + "' '" + model.string() + "' '" + input.string() + "' " + std::to_string(runs);
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run node");
    std::string out;
    char buf[256];
    while (fgets(buf, sizeof buf, pipe)) out += buf;
    if (pclose(pipe) != 0)
        throw std::runtime_error("ort_latency.js failed (bash scripts/peers.sh installs ONNX Runtime)");
    const auto at = out.find("\"median_ms\":");
    if (at == std::string::npos) throw std::runtime_error("unexpected output from ort_latency.js: " + out);
    return std::stod(out.substr(at + 12));
}

}  // namespace ktc::bench
