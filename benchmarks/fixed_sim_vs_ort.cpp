// Question: how fast is ktc's fixed-point simulator (`ktc infer --bie`) against ONNX Runtime's
// float run of the same model, and how fast does calibration (`ktc analysis`) go on 1 and 2
// threads?
//
// For each zoo model: the onnx2onnx flow, calibration on --samples inputs (the zoo input plus
// seeded noise, so every sample differs) timed with 1 and 2 threads (images per second), int8
// quantization for KDP720, then the median latency of the fixed-point simulator (this process, one
// thread) and of ONNX Runtime on the float model (onnxruntime-node, CPU, 1 intra-op thread, in the
// same run), and the ratio ktc/ORT. Lower is better; 1.0 means as fast as ORT's float run.
// usage: bench_fixed_sim_vs_ort [--zoo DIR] [--runs N] [--samples N] [--profile] [--profile-nodes] [model ...]
// --profile: one fixed-point run's time per op type (convs split by kind); --profile-nodes: per node too.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ktc/core/npy.hpp"
#include "ktc/kernels/isa.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "node_profile.hpp"
#include "ort_peer.hpp"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct result {
    double calibrate_1_ips = 0, calibrate_2_ips = 0, fixed_ms = 0;
};

struct profile_options {
    bool per_op = false, per_node = false;
};

result measure(const fs::path& model, const fs::path& input, int runs, std::size_t samples, profile_options profile) {
    ktc::graph::graph g = ktc::onnx::load(model);
    ktc::rewrite::onnx2onnx_flow(g);
    const ktc::sim::float_simulator reference(g);
    const std::string name = reference.graph().inputs.at(0).name;
    const ktc::tensor x = ktc::npy::load(input);
    const auto sample = [&](std::size_t i) {
        ktc::tensor noisy = x;
        std::mt19937 rng(static_cast<unsigned>(i));
        std::normal_distribution<float> noise(0.f, 0.1f);
        for (float& v : noisy.values<float>()) v += noise(rng);
        return ktc::sim::tensor_map{{name, noisy}};
    };
    result r;
    ktc::quant::calibration cal;
    for (unsigned threads : {1u, 2u}) {
        ktc::quant::calibration_options o;
        o.threads = threads;
        const auto t0 = clock_type::now();
        cal = ktc::quant::calibrate(reference, samples, sample, o);
        (threads == 1 ? r.calibrate_1_ips : r.calibrate_2_ips) = double(samples) / seconds_since(t0);
    }
    const ktc::sim::fixed_simulator fixed(ktc::quant::quantize<ktc::platform::kdp720>(reference.graph(), cal, {}));
    const ktc::sim::tensor_map inputs{{name, x}};
    fixed.run(inputs);  // warm-up
    if (profile.per_op || profile.per_node) ktc::bench::print_profile(fixed, inputs, profile.per_node);
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = clock_type::now();
        fixed.run(inputs);
        times.push_back(seconds_since(t0) * 1000);
    }
    std::sort(times.begin(), times.end());
    r.fixed_ms = times[times.size() / 2];
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    fs::path zoo = fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".cache/ktc/zoo";
    int runs = 10;
    std::size_t samples = 8;
    profile_options profile;
    std::vector<std::string> models;
    int failed = 0;  // models that could not be measured: the exit status says so (CI's short mode)
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--zoo" && i + 1 < argc) zoo = argv[++i];
        else if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
        else if (a == "--samples" && i + 1 < argc) samples = std::stoul(argv[++i]);
        else if (a == "--profile") profile.per_op = true;
        else if (a == "--profile-nodes") profile.per_node = true;
        else models.push_back(a);
    }
    if (models.empty()) models = {"resnet50", "mobilenet_v2"};
    std::printf("%-16s %14s %14s %12s %12s %10s\n", "model", "calib 1 thr/s", "calib 2 thr/s", "fixed ms", "ORT ms",
                "fixed/ORT");
    for (const auto& name : models) {
        const fs::path model = zoo / (name + ".onnx"), input = zoo / (name + ".input.npy");
        try {
            const result r = measure(model, input, runs, samples, profile);
            const double ort_ms = ktc::bench::ort_median_ms(model, input, runs);
            std::printf("%-16s %14.2f %14.2f %12.2f %12.2f %10.2f\n", name.c_str(), r.calibrate_1_ips,
                        r.calibrate_2_ips, r.fixed_ms, ort_ms, r.fixed_ms / ort_ms);
        } catch (const std::exception& e) {
            std::printf("%-16s error: %s\n", name.c_str(), e.what());
            ++failed;
        }
        std::fflush(stdout);
    }
    std::printf(
        "(calibration: images/s over %zu samples; latency: median of %d runs, batch 1, one thread;\n"
        " fixed = ktc's int8 KDP720 simulator, kernels: %s copy; ORT = onnxruntime-node CPU float, 1 intra-op thread)\n",
        samples, runs, ktc::kernels::isa::running());
    return failed ? 1 : 0;
}
