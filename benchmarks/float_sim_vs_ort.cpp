// Question: how fast is ktc's float simulator against ONNX Runtime on the same models?
//
// For each zoo model: median latency of ktc (this process, one thread) and of ONNX Runtime
// (onnxruntime-node, CPU, 1 intra-op thread, run from ort_latency.js in the same run), and the
// ratio ktc/ORT. Lower is better; 1.0 means as fast as ORT.
// usage: bench_float_sim_vs_ort [--zoo DIR] [--runs N] [--profile] [--profile-nodes] [model ...]
// --profile: one run's time per op type (convs split by kind); --profile-nodes: per node too.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "ktc/kernels/isa.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "node_profile.hpp"
#include "ort_peer.hpp"

namespace fs = std::filesystem;

namespace {

double ktc_median_ms(const fs::path& model, const fs::path& input, int runs, bool profile, bool per_node) {
    const ktc::sim::float_simulator interp(ktc::onnx::load(model));
    const ktc::sim::tensor_map inputs{{interp.graph().inputs.at(0).name, ktc::npy::load(input)}};
    interp.run(inputs);  // warm-up
    if (profile || per_node) ktc::bench::print_profile(interp, inputs, per_node);
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        interp.run(inputs);
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    fs::path zoo = fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".cache/ktc/zoo";
    int runs = 10;
    bool profile = false, per_node = false;
    std::vector<std::string> models;
    int failed = 0;  // models that could not be measured: the exit status says so (CI's short mode)
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--zoo" && i + 1 < argc) zoo = argv[++i];
        else if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
        else if (a == "--profile") profile = true;
        else if (a == "--profile-nodes") per_node = true;
        else models.push_back(a);
    }
    if (models.empty()) models = {"resnet50", "mobilenet_v2", "inception_v3"};
    std::printf("%-16s %12s %12s %10s\n", "model", "ktc ms", "ORT ms", "ktc/ORT");
    for (const auto& name : models) {
        const fs::path model = zoo / (name + ".onnx"), input = zoo / (name + ".input.npy");
        try {
            const double ktc_ms = ktc_median_ms(model, input, runs, profile, per_node);
            const double ort_ms = ktc::bench::ort_median_ms(model, input, runs);
            std::printf("%-16s %12.2f %12.2f %10.2f\n", name.c_str(), ktc_ms, ort_ms, ktc_ms / ort_ms);
        } catch (const std::exception& e) {
            std::printf("%-16s error: %s\n", name.c_str(), e.what());
            ++failed;
        }
        std::fflush(stdout);
    }
    std::printf(
        "(median of %d runs each, batch 1, one thread, kernels: %s copy; ORT = onnxruntime-node CPU, 1 intra-op thread)\n",
        runs, ktc::kernels::isa::running());
    return failed ? 1 : 0;
}
