// ktc/api/compile.ipp - the definitions behind compile.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/api/compile.hpp"

namespace ktc {

KTC_DECL compile_result compile(const std::vector<model_config>& models, const compile_options& o) {
    if (models.empty()) throw usage_error("compile: no model given");
    compile_result result;
    result.nef.platform = models.front().chip();
    result.nef.toolchain_version = ktc::version;
    result.nef.compress_weights = o.weight_compress;
    compiler::compile_options co;
    co.tiling.onchip_bytes = o.onchip_bytes;
    std::map<std::uint32_t, std::string> ids;
    std::ostringstream csv;
    for (const auto& m : models) {
        m.validate();
        if (m.chip() != result.nef.platform)
            throw usage_error("compile: " + m.name() + " is for platform " + m.platform + ", " + models.front().name() +
                              " for " + platform::to_string(result.nef.platform) + " (one platform per .nef)");
        if (auto [it, added] = ids.emplace(m.id, m.name()); !added)
            throw usage_error("compile: model id " + std::to_string(m.id) + " is used by " + it->second + " and " +
                              m.name());
        if (m.id < 32768)
            result.warnings.push_back("model id " + std::to_string(m.id) + " (" + m.name() +
                                      ") is below 32768, the range reserved for the vendor's models");
    }
    for (const auto& m : models) {
        const quant::bie_model bie = m.quantized();
        const std::string name = !m.bie_path.empty()    ? m.bie_path.stem().string()
                                 : !m.onnx_path.empty() ? m.onnx_path.stem().string()
                                 : !m.label.empty()     ? std::filesystem::path(m.label).stem().string()
                                                        : "model_" + std::to_string(m.id);
        compiler::compiled_model c;
        try {
            c = compiler::compile_model(bie, m.id, m.version_number(), name, co);
        } catch (const error& e) {
            throw error("model " + std::to_string(m.id) + " (" + m.name() + "): " + e.what(), e.code());
        }
        for (const auto& r : c.io)
            csv << r.kind << "," << r.index << "," << r.name << "," << r.c << "," << r.h << "," << r.w << "," << m.id
                << "\n";
        result.models.push_back({m.id, m.version_number(), name, c.layers, c.cpu_steps, c.tiles});
        result.nef.models.push_back(std::move(c.model));
    }
    result.ioinfo_csv = csv.str();
    if (!o.output.empty()) {
        io::save_nef(result.nef, o.output);
        result.nef_path = o.output;
        result.ioinfo_path = std::filesystem::absolute(o.output).parent_path() / "ioinfo.csv";
        write_file_atomically(result.ioinfo_path, result.ioinfo_csv);
    }
    return result;
}

KTC_DECL std::filesystem::path combine_nef(const std::vector<std::filesystem::path>& nef_paths,
                                           const std::filesystem::path& out_dir) {
    std::vector<compiler::named_nef> files;
    for (const auto& p : nef_paths) files.push_back({p.string(), io::load_nef(p)});
    const compiler::nef_file merged = compiler::combine_nefs(files, ktc::version);
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec || !std::filesystem::is_directory(out_dir))
        throw error(out_dir.string() + ": cannot create output folder" + (ec ? ": " + ec.message() : ""));
    const auto path = out_dir / ("models_" + platform::to_string(merged.platform) + ".nef");
    io::save_nef(merged, path);
    return path;
}

}  // namespace ktc
