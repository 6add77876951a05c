// drivers/combine_nef.cpp - `ktc combine-nef`: several .nef of one platform -> OUTDIR/models_<platform>.nef.
#include <iostream>

#include "cli.hpp"
#include "ktc/api/compile.hpp"

namespace ktc::cli {

int run_combine_nef(const args& a) {
    po::options_description options("options");
    std::vector<std::string> inputs;
    std::string out_dir;
    // clang-format off
    options.add_options()
        ("nef", po::value(&inputs)->composing()->required(), "the .nef files to merge")
        ("output,o", po::value(&out_dir)->required(), "folder for models_<platform>.nef")
        ("quiet,q", "print nothing on success");
    // clang-format on
    po::positional_options_description positional;
    positional.add("nef", -1);
    po::variables_map vm;
    if (!parse(a, options, vm,
               "usage: ktc combine-nef A.nef B.nef ... -o OUTDIR\n\nMerges the models of .nef files of one platform "
               "into OUTDIR/models_<platform>.nef;\nmixed platforms and a model id in two files are errors.",
               &positional))
        return 0;
    // The API's combine_nef (ktc/api/compile.hpp).
    const std::filesystem::path path =
        ktc::combine_nef(std::vector<std::filesystem::path>(inputs.begin(), inputs.end()), out_dir);
    if (!vm.count("quiet")) {
        const compiler::nef_file merged = io::load_nef(path);
        std::cout << path.string() << ": platform " << platform::name_of(merged.platform) << ", models";
        for (const auto& m : merged.models) std::cout << " " << m.id;
        std::cout << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
