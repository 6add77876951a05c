// ktc/compiler/command.hpp - the command stream of a compiled model: what the NPU's controller
// (and, for CPU steps, the host) executes, one fixed-size record after another.
//
// A command is 16 bytes, little-endian: u8 opcode, u8 reserved (0), u16 reserved (0), then three
// u32 operands a, b, c. Values and layers are numbered by the model's setup data (nef.hpp):
//   END                        - the last command of every stream; nothing may follow it.
//   LOAD_TILE  a=value b=row c=rows     copy rows [b, b+c) of a value from DRAM to on-chip memory
//   RUN_LAYER  a=layer b=row c=rows     compute output rows [b, b+c) of an NPU layer from the
//                                        tiles loaded since the previous RUN_LAYER (its input
//                                        rows with the halo its windows need)
//   STORE_TILE a=value b=row c=rows     copy rows [b, b+c) of the layer's output back to DRAM
//   CPU_OP     a=layer                  the host runs a CPU layer (one node) on whole tensors in DRAM
// "Rows" are the height axis of a 4-D [1, C, H, W] feature map; any other value has one row, the
// whole tensor. docs/formats.md ("The .nef file") documents the set.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ktc/core/error.hpp"

namespace ktc::compiler {

enum class opcode : std::uint8_t { end = 0, load_tile = 1, run_layer = 2, store_tile = 3, cpu_op = 4 };

inline const char* name_of(opcode op) {
    switch (op) {
        case opcode::end: return "END";
        case opcode::load_tile: return "LOAD_TILE";
        case opcode::run_layer: return "RUN_LAYER";
        case opcode::store_tile: return "STORE_TILE";
        case opcode::cpu_op: return "CPU_OP";
    }
    return "?";
}

struct command {
    opcode op = opcode::end;
    std::uint32_t a = 0, b = 0, c = 0;
    bool operator==(const command&) const = default;
};

inline constexpr std::size_t command_bytes = 16;

inline std::string encode_commands(const std::vector<command>& cmds) {
    std::string out;
    out.reserve(cmds.size() * command_bytes);
    for (const auto& c : cmds) {
        char rec[command_bytes] = {};
        rec[0] = static_cast<char>(c.op);
        std::memcpy(rec + 4, &c.a, 4);
        std::memcpy(rec + 8, &c.b, 4);
        std::memcpy(rec + 12, &c.c, 4);
        out.append(rec, command_bytes);
    }
    return out;
}

// Decodes and checks the framing: whole records, known opcodes, zero reserved bytes, one END
// and it comes last. Operand ranges are checked by whoever knows the model (nef.hpp).
inline std::vector<command> decode_commands(std::string_view bytes, const std::string& where) {
    if (bytes.size() % command_bytes != 0)
        throw error(where + ": command stream of " + std::to_string(bytes.size()) +
                    " bytes is not whole 16-byte commands");
    std::vector<command> cmds(bytes.size() / command_bytes);
    for (std::size_t i = 0; i < cmds.size(); ++i) {
        const char* rec = bytes.data() + i * command_bytes;
        if (static_cast<std::uint8_t>(rec[0]) > static_cast<std::uint8_t>(opcode::cpu_op))
            throw error(where + ": command " + std::to_string(i) + " has unknown opcode " +
                        std::to_string(static_cast<std::uint8_t>(rec[0])));
        if (rec[1] || rec[2] || rec[3])
            throw error(where + ": command " + std::to_string(i) + " has non-zero reserved bytes");
        cmds[i].op = static_cast<opcode>(rec[0]);
        std::memcpy(&cmds[i].a, rec + 4, 4);
        std::memcpy(&cmds[i].b, rec + 8, 4);
        std::memcpy(&cmds[i].c, rec + 12, 4);
        if (cmds[i].op == opcode::end && i + 1 != cmds.size())
            throw error(where + ": END at command " + std::to_string(i) + " is not the last command");
    }
    if (cmds.empty() || cmds.back().op != opcode::end) throw error(where + ": command stream does not end with END");
    return cmds;
}

}  // namespace ktc::compiler
