// examples/embed/main.cpp - the seed's Python workflow (manual sections 3 to 5) through ktc's C++
// API: optimize, evaluate, float inference, analysis, fixed-point inference, compile, hardware
// inference. It writes OUTDIR/{float,fixed,hardware}/<output>.npy as `ktc flow MODEL --input
// INPUTS --platform P -o OUTDIR` does: the fixed and hardware ones equal bit for bit, the float
// ones within rounding of the compiler flags (scripts/test.sh checks).
//
// usage: embed MODEL.onnx INPUTS.npy 520|720 OUTDIR
#include <cstring>
#include <filesystem>
#include <iostream>

#include <ktc/api.hpp>
#include <ktc/quant/accuracy.hpp>

namespace {

// The seed leaves comparing to the user: SNR and argmax agreement of the first output.
void compare(const char* step, const ktc::tensor& reference, const ktc::tensor& other, const char* against) {
    const auto a = ktc::quant::compare_outputs("output", reference, other);
    const bool exact = reference.byte_size() == other.byte_size() &&
                       std::memcmp(reference.raw(), other.raw(), reference.byte_size()) == 0;
    std::cout << step << ": vs " << against << ": "
              << (exact ? std::string("bit-exact") : "SNR " + std::to_string(a.error.snr_db()) + " dB") << ", argmax "
              << a.argmax_equal << "/" << a.samples << "\n";
}

void save_outputs(const std::filesystem::path& dir, const std::vector<ktc::graph::value_info>& names,
                  const std::vector<ktc::tensor>& outputs) {
    std::filesystem::create_directories(dir);
    for (std::size_t i = 0; i < outputs.size(); ++i) ktc::npy::save(dir / (names[i].name + ".npy"), outputs[i]);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: embed MODEL.onnx INPUTS.npy 520|720 OUTDIR\n";
        return 2;
    }
    const std::filesystem::path model = argv[1], out = argv[4];
    const std::string platform = argv[3];
    try {
        // 3.1 optimization: an "onnx object" is a ktc::graph::graph.
        const ktc::graph::graph optimized = ktc::onnx_optimizer::onnx2onnx_flow(ktc::onnx::load(model));

        // 3.2 IP evaluation of a model_config (id, version, platform, the model).
        ktc::model_config km{32768, "0001", platform, optimized};
        const auto evaluation = km.evaluate({.optimize = false});
        std::cout << "evaluate: KDP" << platform << " estimate " << evaluation.performance->fps() << " FPS\n";

        // 3.3 float inference: the preprocessed inputs, channel-last, here 8 images stacked.
        const std::vector<ktc::tensor> input_data = {ktc::npy::load(argv[2])};
        const auto float_out = ktc::kneron_inference(input_data, {.onnx = &optimized});
        save_outputs(out / "float", optimized.outputs, float_out);

        // 4.1 quantization: input name -> samples; the .bie is kept in km and written.
        std::filesystem::create_directories(out);
        km.analysis({{optimized.inputs.front().name, input_data}},
                    {.output_bie = out / (model.stem().string() + ".bie"), .optimize = false});
        std::cout << "analysis: get_radix of the inputs " << ktc::get_radix(input_data) << "\n";

        // 4.2 fixed-point inference of the .bie.
        const auto fixed_out = ktc::kneron_inference(input_data, {.bie = &*km.bie});
        save_outputs(out / "fixed", optimized.outputs, fixed_out);
        compare("fixed inference", float_out.front(), fixed_out.front(), "float");

        // 5.1 batch compile, 5.2 hardware inference of the .nef.
        const auto compiled = ktc::compile({km}, {.output = out / ("models_" + platform + ".nef")});
        std::cout << "compile: " << compiled.nef_path.string() << ", " << compiled.models.front().steps << " steps\n";
        const auto hardware_out = ktc::kneron_inference(input_data, {.nef_file = compiled.nef_path});
        save_outputs(out / "hardware", optimized.outputs, hardware_out);
        compare("hardware inference", fixed_out.front(), hardware_out.front(), "fixed");
    } catch (const ktc::error& e) {
        std::cerr << "embed: error: " << e.what() << "\n";
        return static_cast<int>(e.code());
    }
    return 0;
}
