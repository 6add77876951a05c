// drivers/infer.cpp - `ktc infer`: run a model on .npy inputs and write one .npy per output, with
// the float simulator (--onnx) or the fixed-point simulator (--bie).
#include <filesystem>
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

    // One implementation with the C++ API's kneron_inference (include/ktc/api/inference.hpp).
    const model_runner runner(command->model);
    const sim::tensor_map outputs = runner.run(read_inputs(command->input_specs, runner.inputs()), show);

    ensure_directory(command->out_dir);
    for (const auto& [name, t] : outputs) {
        const auto path = std::filesystem::path(command->out_dir) / (file_name_for(name) + ".npy");
        npy::save(path, t);
        if (!command->quiet) std::cout << path.string() << " " << to_string(t.shape()) << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
