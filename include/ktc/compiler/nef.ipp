// ktc/compiler/nef.ipp - the definitions behind nef.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/nef.hpp"

namespace ktc::compiler {

KTC_DECL std::string version_string(std::uint16_t v) {
    static const char* hex = "0123456789abcdef";
    return {hex[v >> 12 & 15], hex[v >> 8 & 15], hex[v >> 4 & 15], hex[v & 15]};
}

KTC_DECL std::string make_setup(const nlohmann::json& plan, std::string_view graph_bytes) {
    std::string out, text = plan.dump();
    const std::uint64_t n = text.size(), m = graph_bytes.size();
    out.append(reinterpret_cast<const char*>(&n), 8).append(text).append((8 - n % 8) % 8, '\0');
    out.append(reinterpret_cast<const char*>(&m), 8).append(graph_bytes);
    return out;
}

KTC_DECL setup_view split_setup(std::string_view setup, const std::string& where) {
    std::uint64_t n = 0, m = 0;
    if (setup.size() < 16) throw error(where + ": setup data too short");
    std::memcpy(&n, setup.data(), 8);
    if (n > setup.size() - 16) throw error(where + ": setup plan length runs past the end");
    const std::uint64_t at = 8 + n + (8 - n % 8) % 8;
    if (at > setup.size() - 8) throw error(where + ": setup graph length runs past the end");
    std::memcpy(&m, setup.data() + at, 8);
    if (m != setup.size() - at - 8) throw error(where + ": setup graph length does not match the setup size");
    setup_view v;
    try {
        v.plan = nlohmann::json::parse(setup.substr(8, n));
    } catch (const std::exception& e) {
        throw error(where + ": setup plan: " + e.what());
    }
    v.graph = setup.substr(at + 8, m);
    return v;
}

KTC_DECL void check_commands(const std::vector<command>& cmds, const nlohmann::json& plan) {
    const auto& values = plan.at("values");
    const auto& layers = plan.at("layers");
    const auto rows = [&](std::uint32_t v) {
        const auto s = values.at(v).at("shape").get<shape_t>();
        return s.size() == 4 ? s[2] : std::int64_t{1};
    };
    for (std::size_t i = 0; i < cmds.size(); ++i) {
        const command& c = cmds[i];
        const std::string at = "command " + std::to_string(i) + " (" + name_of(c.op) + ")";
        switch (c.op) {
            case opcode::end: break;
            case opcode::load_tile:
            case opcode::store_tile:
                if (c.a >= values.size())
                    throw std::runtime_error(at + ": value " + std::to_string(c.a) + " out of range");
                if (c.c == 0 || std::int64_t{c.b} + c.c > rows(c.a))
                    throw std::runtime_error(at + ": rows out of range");
                break;
            case opcode::run_layer:
            case opcode::cpu_op:
                if (c.a >= layers.size())
                    throw std::runtime_error(at + ": layer " + std::to_string(c.a) + " out of range");
                if ((layers.at(c.a).at("kind") == "cpu") != (c.op == opcode::cpu_op))
                    throw std::runtime_error(at + ": layer kind does not match the command");
                break;
        }
    }
}

}  // namespace ktc::compiler
