// drivers/nef_info.cpp - `ktc nef-info`: what a .nef holds.
#include <iostream>
#include <map>

#include "cli.hpp"
#include "ktc/io/nef.hpp"

namespace ktc::cli {

int run_nef_info(const args& a) {
    po::options_description options("options");
    std::string path;
    // clang-format off
    options.add_options()("nef", po::value(&path)->required(), "the .nef file");
    // clang-format on
    po::positional_options_description positional;
    positional.add("nef", 1);
    po::variables_map vm;
    if (!parse(a, options, vm,
               "usage: ktc nef-info FILE.nef\n\nLists the models of a .nef: id, version, name, "
               "inputs and outputs (shape, width, radix), DRAM areas, blobs and commands.",
               &positional))
        return 0;
    const auto nef = io::load_nef(path);
    std::cout << path << ": ktc .nef version " << io::nef_version << ", platform " << platform::name_of(nef.platform)
              << ", toolchain " << nef.toolchain_version << ", " << nef.models.size() << " model(s)"
              << (nef.compress_weights ? ", weights compressed" : "") << "\n";
    for (const auto& m : nef.models) {
        std::cout << "model " << m.id << " version " << compiler::version_string(m.version) << " '" << m.name << "'\n";
        for (const auto* list : {&m.inputs, &m.outputs})
            for (const auto& t : *list)
                std::cout << "  " << (list == &m.inputs ? "input  " : "output ") << t.name << " " << to_string(t.shape)
                          << " int" << t.bits << " radix " << t.radix << " scale " << t.scale << "\n";
        std::map<std::string, std::size_t> counts;
        const auto cmds = compiler::decode_commands(m.commands, path);
        for (const auto& c : cmds) ++counts[compiler::name_of(c.op)];
        std::cout << "  DRAM: input " << m.input_bytes << ", output " << m.output_bytes << ", working "
                  << m.working_bytes << " bytes; weights " << m.weights.size() << ", setup " << m.setup.size()
                  << ", commands " << m.commands.size() << " bytes\n  commands:";
        for (const auto& [name, n] : counts) std::cout << " " << name << " " << n;
        std::cout << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
