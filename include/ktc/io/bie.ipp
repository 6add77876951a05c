// ktc/io/bie.ipp - the definitions behind bie.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/io/bie.hpp"

namespace ktc::io {
namespace bie_detail {

KTC_DECL void put_section(std::string& out, const char (&tag)[5], std::string_view payload) {
    out.append(tag, 4);
    put<std::uint32_t>(out, 0);
    put<std::uint64_t>(out, payload.size());
    out.append(payload);
    out.append((8 - payload.size() % 8) % 8, '\0');
}

}  // namespace bie_detail
KTC_DECL std::string serialize_bie(const bie_model& m) {
    using nlohmann::json;
    json meta = {{"platform", platform::name_of(m.platform)},
                 {"toolchain_version", m.toolchain_version},
                 {"source", m.source},
                 {"calibration_samples", m.calibration_samples},
                 {"options",
                  {{"bits", m.options.bits},
                   {"int16_nodes", m.options.int16_nodes},
                   {"range_method", name_of(m.options.method)},
                   {"outlier", m.options.outlier},
                   {"per_channel_weights", m.options.per_channel_weights},
                   {"post_sigmoid", m.options.post_sigmoid},
                   {"bias_correction", m.options.bias_correction},
                   {"weight_rounding", name_of(m.options.rounding)},
                   {"scales", name_of(m.options.scales)},
                   {"range_search", !m.options.chosen_ranges.empty()}}}};
    json edges = json::object();
    for (const auto& [name, f] : fixed::edge_formats(m.graph))
        edges[name] = {{"radix", f.radix}, {"bits", f.bits}, {"scale", f.scale}};
    meta["edges"] = edges;
    json stats = json::object();
    for (const auto& [name, s] : m.statistics) stats[name] = {{"min", s.min}, {"max", s.max}, {"range", s.range}};

    std::string graph_bytes;
    if (!onnx::to_model(m.graph).SerializeToString(&graph_bytes)) throw error("bie: graph serialization failed");

    std::string out(bie_magic);
    put<std::uint32_t>(out, bie_version);
    put<std::uint32_t>(out, 3);
    bie_detail::put_section(out, "META", meta.dump(1));
    bie_detail::put_section(out, "GRPH", graph_bytes);
    bie_detail::put_section(out, "STAT", stats.dump());
    put<std::uint32_t>(out, crc32(out));
    return out;
}

KTC_DECL bie_model parse_bie(std::string_view bytes, const std::string& source) {
    const auto bad = [&](const std::string& what) { return file_error(source, "not a valid .bie file: " + what); };
    if (bytes.size() < bie_magic.size() + 12) throw bad("too short (" + std::to_string(bytes.size()) + " bytes)");
    if (bytes.substr(0, bie_magic.size()) != bie_magic) throw bad("bad magic (not a ktc .bie file)");
    const std::uint32_t stored_crc = get_at<std::uint32_t>(bytes, bytes.size() - 4);
    if (crc32(bytes.substr(0, bytes.size() - 4)) != stored_crc) throw bad("checksum mismatch (truncated or corrupted)");
    const std::uint32_t version = get_at<std::uint32_t>(bytes, 8);
    if (version < oldest_bie_version || version > bie_version)
        throw bad("format version " + std::to_string(version) + " (this ktc reads versions " +
                  std::to_string(oldest_bie_version) + " to " + std::to_string(bie_version) + ")");
    const std::uint32_t count = get_at<std::uint32_t>(bytes, 12);
    std::map<std::string, std::string_view> sections;
    std::size_t at = 16;
    const std::size_t end = bytes.size() - 4;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (end - at < 16) throw bad("section " + std::to_string(i) + " header runs past the end");
        const std::string tag(bytes.substr(at, 4));
        const std::uint64_t length = get_at<std::uint64_t>(bytes, at + 8);
        at += 16;
        if (length > end - at)
            throw bad("section '" + tag + "' length " + std::to_string(length) + " runs past the end");
        if (!sections.emplace(tag, bytes.substr(at, length)).second) throw bad("section '" + tag + "' appears twice");
        at += length + (8 - length % 8) % 8;
        if (at > end) throw bad("section '" + tag + "' padding runs past the end");
    }
    for (const char* tag : {"META", "GRPH", "STAT"})
        if (!sections.count(tag)) throw bad(std::string("section '") + tag + "' is missing");

    bie_model m;
    try {
        const auto meta = nlohmann::json::parse(sections.at("META"));
        const auto chip_name = meta.at("platform").get<std::string>();
        const auto chip = platform::chip_spelled(chip_name);
        if (!chip) throw std::runtime_error("platform '" + chip_name + "'");
        m.platform = *chip;
        m.toolchain_version = meta.at("toolchain_version").get<std::string>();
        m.source = meta.at("source").get<std::string>();
        m.calibration_samples = meta.at("calibration_samples").get<std::size_t>();
        const auto& o = meta.at("options");
        m.options.bits = o.at("bits").get<int>();
        m.options.int16_nodes = o.at("int16_nodes").get<std::set<std::string>>();
        m.options.method = quant::range_method_named(o.at("range_method").get<std::string>());
        m.options.outlier = o.at("outlier").get<double>();
        m.options.per_channel_weights = o.at("per_channel_weights").get<bool>();
        m.options.post_sigmoid = o.at("post_sigmoid").get<bool>();
        // Written since bias correction exists; a .bie from before had none.
        m.options.bias_correction = o.contains("bias_correction") && o.at("bias_correction").get<bool>();
        m.options.rounding = o.contains("weight_rounding")
                                 ? quant::parse_weight_rounding(o.at("weight_rounding").get<std::string>())
                                 : quant::weight_rounding::nearest;  // written since it exists
        m.options.scales = o.contains("scales") ? quant::parse_scale_policy(o.at("scales").get<std::string>())
                                                : quant::scale_policy::power_of_two;  // version 1: radices only
        const auto stats = nlohmann::json::parse(sections.at("STAT"));
        for (const auto& [name, s] : stats.items())
            m.statistics[name] = {s.at("min").get<float>(), s.at("max").get<float>(), s.at("range").get<double>()};
    } catch (const std::exception& e) {
        throw bad(std::string("metadata: ") + e.what());
    }
    ::onnx::ModelProto proto;
    const auto graph_bytes = sections.at("GRPH");
    if (!proto.ParseFromArray(graph_bytes.data(), static_cast<int>(graph_bytes.size())))
        throw bad("graph section is not a model");
    try {
        m.graph = onnx::from_model(proto, source);
        m.graph.topological_order();  // a cycle is a corrupt file, found now rather than at run time
    } catch (const std::exception& e) {
        throw bad(std::string("graph: ") + e.what());
    }
    fixed::check_annotations(m.graph, source);
    return m;
}

KTC_DECL void save_bie(const bie_model& m, const std::filesystem::path& path) {
    write_file_atomically(path, serialize_bie(m));
}

KTC_DECL bie_model load_bie(const std::filesystem::path& path) {
    return parse_bie(read_whole_file(path, max_bie_bytes, "a .bie model"), path.string());
}

}  // namespace ktc::io
