// drivers/compile.cpp - `ktc compile`: quantized models (.bie) -> one .nef for their platform,
// plus ioinfo.csv next to it.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.hpp"
#include "ktc/api/compile.hpp"
#include "ktc/compiler/compile.hpp"

namespace ktc::cli {

namespace {

const char* compile_usage =
    "usage: ktc compile --model ID:VERSION:FILE.bie ... --platform 520|720 -o OUT.nef [options]\n\n"
    "Compiles one or more quantized models (ktc analysis) into one .nef for the platform: NPU layers\n"
    "(a MAC op with its fused BN, activation and pool), CPU steps, tiles that fit on-chip memory, a\n"
    "DRAM plan and the command stream. ID is an integer > 0 (ids below 32768 are reserved for the\n"
    "vendor's models: a warning), VERSION 4 hex digits (e.g. 0001); ids must differ and every model\n"
    "must be quantized for --platform. Also writes ioinfo.csv next to OUT.nef: one row per input (i),\n"
    "CPU node (c) and output (o): kind,index,name,C,H,W,model_id.";

struct model_spec {
    std::uint32_t id;
    std::uint16_t version;
    std::string path;
    std::string spec;
};

model_spec parse_spec(const std::string& spec) {
    const auto a = spec.find(':'), b = a == std::string::npos ? a : spec.find(':', a + 1);
    if (b == std::string::npos || b + 1 >= spec.size())
        throw usage_error("--model " + spec + ": expected ID:VERSION:FILE.bie");
    const std::string id = spec.substr(0, a), version = spec.substr(a + 1, b - a - 1);
    model_spec m{0, 0, spec.substr(b + 1), spec};
    const bool digits = !id.empty() && id.size() <= 10 && id.find_first_not_of("0123456789") == std::string::npos;
    if (!digits && !(id.size() > 1 && id[0] == '-'))
        throw usage_error("--model " + spec + ": id '" + id + "' is not an integer");
    if (!digits || std::stoull(id) == 0 || std::stoull(id) > 0xffffffffull)
        throw usage_error("--model " + spec + ": id " + id + " must be an integer > 0 (and below 2^32)");
    m.id = static_cast<std::uint32_t>(std::stoull(id));
    if (version.size() != 4 || version.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        throw usage_error("--model " + spec + ": version '" + version + "' is not 4 hex digits (e.g. 0001)");
    m.version = static_cast<std::uint16_t>(std::stoul(version, nullptr, 16));
    return m;
}

}  // namespace

int run_compile(const args& a) {
    po::options_description options("options");
    std::vector<std::string> specs;
    std::string platform_name, out_path;
    std::uint64_t onchip = 0;
    // clang-format off
    options.add_options()
        ("model,m", po::value(&specs)->composing()->required(), "ID:VERSION:FILE.bie, once per model")
        ("platform", po::value(&platform_name)->required(), "520 or 720: every model must be quantized for it")
        ("output,o", po::value(&out_path)->required(), "the .nef to write (ioinfo.csv goes next to it)")
        ("weight-compress", "store weights compressed (lossless zero-run coding)")
        ("onchip-bytes", po::value(&onchip), "on-chip memory budget for tiling (default: the platform's; for tests)")
        ("quiet,q", "print nothing on success");
    // clang-format on
    po::variables_map vm;
    if (!parse(a, options, vm, compile_usage)) return 0;
    const platform::chip chip = platform::chip_named(platform_name);

    std::vector<model_spec> models;
    std::map<std::uint32_t, std::string> ids;
    for (const auto& s : specs) {
        model_spec m = parse_spec(s);
        if (auto [it, added] = ids.emplace(m.id, s); !added)
            throw usage_error("--model " + s + ": id " + std::to_string(m.id) + " is also used by --model " +
                              it->second);
        models.push_back(std::move(m));
    }
    std::vector<quant::bie_model> bies;
    for (const auto& m : models) {
        bies.push_back(io::load_bie(m.path));
        if (bies.back().platform != chip)
            throw usage_error("--model " + m.spec + ": " + m.path + " is quantized for platform " +
                              platform::to_string(bies.back().platform) + ", not " + platform_name +
                              " (one platform per .nef)");
    }
    for (const auto& m : models)
        if (m.id < 32768)
            std::cerr << "ktc compile: warning: model id " << m.id << " (" << m.path
                      << ") is below 32768, the range reserved for the vendor's models\n";

    // The API's compile (ktc/api/compile.hpp): one implementation for ktc compile, ktc flow and C++ users.
    std::vector<model_config> configs;
    for (std::size_t i = 0; i < models.size(); ++i)
        configs.push_back(model_config{models[i].id,
                                       compiler::version_string(models[i].version),
                                       platform_name,
                                       std::nullopt,
                                       {},
                                       models[i].path,
                                       std::move(bies[i]),
                                       {}});
    compile_options co;
    co.output = out_path;
    co.weight_compress = vm.count("weight-compress") != 0;
    co.onchip_bytes = onchip;
    const compile_result r = ktc::compile(configs, co);
    if (!vm.count("quiet")) {
        std::cout << out_path << ": platform " << platform_name << ", " << models.size() << " model(s), "
                  << std::filesystem::file_size(out_path) << " bytes\n";
        for (std::size_t i = 0; i < r.models.size(); ++i) {
            const auto& m = r.models[i];
            const compiler::nef_model& n = r.nef.models[i];
            std::cout << "  model " << m.id << " v" << compiler::version_string(m.version) << " " << m.name << ": "
                      << m.steps << " steps (" << m.cpu_steps << " on the CPU), " << m.tiles << " NPU tiles, weights "
                      << n.weights.size() << " bytes, DRAM in/out/working " << n.input_bytes << "/" << n.output_bytes
                      << "/" << n.working_bytes << " bytes\n";
        }
        std::cout << r.ioinfo_path.string() << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
