// drivers/infer.cpp - `ktc infer`: run a model on .npy inputs and write one .npy per output, with
// the float simulator (--onnx) or the fixed-point simulator (--bie).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>

#include "infer_args.hpp"
#include "io.hpp"
#include "ktc/core/npy.hpp"

namespace ktc::cli {

int run_infer(const args& a) {
    const auto command = parse_infer_args(a);
    if (!command) return 0;
    const progress show("infer", command->quiet);
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();

    // One implementation with the C++ API's kneron_inference (include/ktc/api/inference.hpp).
    const model_runner runner(command->model);
    const sim::tensor_map inputs = read_inputs(command->input_specs, runner.inputs());
    const auto loaded = clock::now();
    std::int64_t samples = 1;
    const sim::tensor_map outputs = runner.run(inputs, [&](std::int64_t done, std::int64_t total) {
        samples = total;
        show(done, total);
    });
    const auto ran = clock::now();

    ensure_directory(command->out_dir);
    for (const auto& [name, t] : outputs) {
        const auto path = std::filesystem::path(command->out_dir) / (file_name_for(name) + ".npy");
        npy::save(path, t);
        if (!command->quiet) std::cout << path.string() << " " << to_string(t.shape()) << "\n";
    }
    if (command->verbose) {
        const auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
        std::cout << std::fixed << std::setprecision(3) << "time: load " << seconds(loaded - started) << " s, run "
                  << seconds(ran - loaded) << " s (" << samples << " sample" << (samples == 1 ? "" : "s") << ", "
                  << std::setprecision(2) << 1e3 * seconds(ran - loaded) / double(std::max<std::int64_t>(samples, 1))
                  << " ms each), write " << std::setprecision(3) << seconds(clock::now() - ran) << " s\n";
    }
    return 0;
}

}  // namespace ktc::cli
