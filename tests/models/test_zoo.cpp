// Real models: torchvision exports (tools/zoo.py) through the float simulator against the
// outputs PyTorch computed at export time.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

fs::path zoo_dir() {
    const char* dir = std::getenv("KTC_ZOO_DIR");
    return dir ? fs::path(dir) : fs::path(KTC_DEFAULT_ZOO_DIR);
}

std::int64_t argmax(std::span<const float> v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

}  // namespace

TEST_CASE("zoo models match PyTorch within 1e-4 of the output range, same argmax") {
    const char* names[] = {"resnet50",           "mobilenet_v2", "inception_v3",    "squeezenet1_1",     "googlenet",
                           "shufflenet_v2_x1_0", "densenet121",  "efficientnet_b0", "mobilenet_v3_small"};
    const fs::path dir = zoo_dir();
    for (const char* name : names) {
        CAPTURE(name);
        const fs::path model = dir / (std::string(name) + ".onnx");
        REQUIRE_MESSAGE(fs::exists(model), "missing " << model << ": run /usr/bin/python3 tools/zoo.py --out " << dir);
        const auto start = std::chrono::steady_clock::now();
        const sim::float_simulator interp(ktc::onnx::load(model));
        const graph::graph& g = interp.graph();
        const tensor input = npy::load(dir / (std::string(name) + ".input.npy"));
        const tensor expected = npy::load(dir / (std::string(name) + ".output.npy"));
        const auto outputs = interp.run({{g.inputs.at(0).name, input}});
        const tensor& actual = outputs.at(g.outputs.at(0).name);
        REQUIRE(actual.shape() == expected.shape());
        const auto e = expected.values<float>(), a = actual.values<float>();
        double max_ref = 1e-6, max_err = 0;
        for (std::size_t i = 0; i < e.size(); ++i) {
            max_ref = std::max(max_ref, double(std::abs(e[i])));
            max_err = std::max(max_err, double(std::abs(a[i] - e[i])));
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "zoo " << name << ": max|ktc-torch| = " << max_err << " (" << max_err / max_ref
                  << " of max|torch| " << max_ref << "), " << seconds << " s\n";
        CHECK(max_err <= 1e-4 * max_ref);
        CHECK(argmax(a) == argmax(e));
    }
}
