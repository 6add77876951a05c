// The bad-input catalogue (issue 9): for every verb of `ktc`, a table of malformed inputs -- empty
// files, wrong magic, truncations, bit flips, wrong shapes, missing files and options, unknown
// platforms, bad ids and names -- each with its exit code and a fragment its one-line error must
// hold; after a failure the -o output must not exist. NaN/Inf inputs have their own case: what each
// verb does with them is a decision, documented in docs/cli.md ("Bad inputs").
//
// Bit flips: .bie and .nef carry CRCs, so every flip is exit 4. ONNX (protobuf), .npy, TFLite
// (flatbuffer), caffemodel and HDF5 have no checksum: a flip in a weight or in padding is a valid
// file with other numbers, so a flip may convert or run (0); else it must be refused cleanly -- 4
// (unreadable), 3 (a node ktc cannot run), or 1 where a flipped attribute makes a node invalid only
// when its kernel runs (e.g. "MaxPool: pads must have 4 values") -- with one line, never a crash
// (a signal reads as -1 here). A flip that is read and exits 0 must then have produced what the
// same command produces from the intact file: a model ktc reads back with the same inputs and
// outputs (names, types, shapes), or the same .npy files (names, dtypes, shapes). Most of the
// checksumless flips are such valid files (a flip in a weight), so this is what they check.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "ktc/core/npy.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/onnx/import.hpp"
#include "support/cli_runner.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using testing::ktc_run;
using testing::line_count;
using testing::temp_dir;

namespace {

const std::string example = std::string(KTC_SOURCE_DIR) + "/examples/fashion_mnist/";
const std::string model = example + "fashion_cnn.onnx", inputs = example + "inputs_batch.npy";

// The valid files the rows damage (all small: a 1 GiB limit never bites).
std::string read_bytes(const fs::path& p) { return read_whole_file(p, std::uintmax_t{1} << 30, "a seed file"); }

// One row: `ktc <args>` exits with one of `codes` and one line holding `says`; `output` (when
// given) does not exist afterwards. A row that may exit 0 (a flip that left a valid file) names
// `intact`, the same command on the undamaged file: its exit 0 must leave at `output` what
// `intact` leaves there (produced() below).
struct bad_input {
    std::string args;
    std::set<int> codes;
    std::string says;
    std::string output = {};
    std::string intact = {};
};

// What a successful run left at `path`: for a folder, each .npy file's name, dtype and shape; for
// a file, the inputs and outputs (names, types, shapes) of the ONNX model ktc reads back from it.
std::string produced(const fs::path& path) {
    std::ostringstream s;
    if (!fs::exists(path)) return "nothing at " + path.string();
    try {
        if (fs::is_directory(path)) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(path)) files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) {
                s << f.filename().string();
                if (f.extension() == ".npy") {
                    const tensor t = npy::load(f);
                    s << ' ' << name_of(t.type()) << ' ' << to_string(t.shape());
                }
                s << '\n';
            }
        } else {
            const graph::graph g = ktc::onnx::load(path);
            for (const auto* list : {&g.inputs, &g.outputs}) {
                for (const auto& v : *list)
                    s << v.name << ' ' << name_of(v.type) << ' ' << (v.rank_known ? to_string(v.shape) : "?") << '\n';
                s << "--\n";
            }
        }
    } catch (const ktc::error& e) {
        s << "unreadable: " << e.what();
    }
    return s.str();
}

void check(const std::vector<bad_input>& rows) {
    std::map<std::string, std::string> intact;  // what each intact command produced
    for (const auto& row : rows) {
        CAPTURE(row.args);
        const auto r = ktc_run(row.args);
        CAPTURE(r.output);
        CHECK(row.codes.count(r.code) == 1);
        if (r.code == 0) {  // a flip that left a valid file: it produced what the intact file does
            REQUIRE_MESSAGE(!row.output.empty(), "exit 0 from a row that names no output to check");
            REQUIRE_MESSAGE(!row.intact.empty(), "exit 0 from a row that names no intact command");
            const std::string got = produced(row.output);
            fs::remove_all(row.output);
            if (!intact.count(row.intact)) {
                const auto i = ktc_run(row.intact);
                REQUIRE_MESSAGE(i.code == 0, row.intact << ": " << i.output);
                intact[row.intact] = produced(row.output);
                fs::remove_all(row.output);
            }
            CHECK(got == intact[row.intact]);
            continue;
        }
        CHECK(line_count(r.output) == 1);
        CHECK(r.output.find(row.says) != std::string::npos);
        if (!row.output.empty()) CHECK_FALSE(fs::exists(row.output));
    }
}

// Damaged copies of `bytes` written into `tmp` as <stem>_<damage><ext>: empty, wrong magic,
// truncated at 1, 8, half and size-1 bytes, and (flips) one bit flipped at a quarter, half,
// three quarters and the second-to-last byte.
struct damaged {
    std::string path, damage;
};
std::vector<damaged> damage(const temp_dir& tmp, const std::string& stem, const std::string& ext,
                            const std::string& bytes, bool flips = true) {
    std::vector<damaged> out;
    const auto add = [&](const std::string& what, const std::string& b) {
        out.push_back({tmp.file(stem + "_" + what + ext, b), what});
    };
    add("empty", "");
    add("magic", "JUNKJUNK" + bytes.substr(std::min<std::size_t>(8, bytes.size())));
    for (const std::size_t n : {std::size_t{1}, std::size_t{8}, bytes.size() / 2, bytes.size() - 1})
        add("cut" + std::to_string(n), bytes.substr(0, n));
    if (flips)
        for (const std::size_t at : {bytes.size() / 4, bytes.size() / 2, 3 * bytes.size() / 4, bytes.size() - 2}) {
            std::string b = bytes;
            b[at] = static_cast<char>(b[at] ^ 0x10);
            add("flip" + std::to_string(at), b);
        }
    return out;
}

bool is_flip(const damaged& d) { return d.damage.rfind("flip", 0) == 0; }

const std::set<int> unreadable{4}, usage{2}, checksumless_flip{0, 1, 3, 4};

// Valid seeds, made once: the example's .bie for 520 and 720, and .nef files of model 32768.
struct seeds {
    temp_dir tmp{"bad_seeds"};
    std::string bie = tmp / "m.bie", bie720 = tmp / "m720.bie", nef = tmp / "m.nef", nef720 = tmp / "m720.nef";
    seeds() {
        REQUIRE(
            ktc_run("analysis " + model + " --platform 520 --input " + inputs + " -o " + bie + " --snr-samples 0 -q")
                .code == 0);
        REQUIRE(
            ktc_run("analysis " + model + " --platform 720 --input " + inputs + " -o " + bie720 + " --snr-samples 0 -q")
                .code == 0);
        REQUIRE(ktc_run("compile -m 32768:0001:" + bie + " --platform 520 -o " + nef + " -q").code == 0);
        REQUIRE(ktc_run("compile -m 32768:0001:" + bie720 + " --platform 720 -o " + nef720 + " -q").code == 0);
    }
};
const seeds& seed() {
    static const seeds s;
    return s;
}

// Damaged .npy inputs: the bundled batch's copies (wrong shapes and types come separately).
std::vector<damaged> damaged_npy(const temp_dir& tmp) {
    auto d = damage(tmp, "x", ".npy", read_bytes(inputs), false);
    // the header's length field and the header text
    std::string b = read_bytes(inputs);
    d.push_back({tmp.file("x_cut60.npy", b.substr(0, 60)), "cut60"});
    return d;
}

}  // namespace

TEST_CASE("bad-input catalogue: convert (TFLite, Caffe, Keras files truncated and flipped; usage)") {
    temp_dir tmp("bad_convert");
    const std::string out = tmp / "out.onnx";
    std::vector<bad_input> rows = {
        {"convert --from onnx " + model + " -o " + out, usage, "'onnx' is not one of", out},
        {"convert --from tflite " + model, usage, "--output", out},
        {"convert --from caffe " + tmp / "net.prototxt -o " + out, usage, "two files", out},
        {"convert --from tflite " + tmp / "absent.tflite -o " + out, unreadable, "absent.tflite", out},
        {"convert --from keras " + tmp / "absent.h5 -o " + out, unreadable, "absent.h5", out},
    };
    const char* env = std::getenv("KTC_CONVERTER_TESTDATA");
    const fs::path dir = env && *env ? fs::path(env) : fs::path(KTC_SOURCE_DIR) / "tests" / "data" / "converters";
    if (!fs::is_directory(dir)) {
        FAIL_CHECK("no converter testdata at " << dir.string() << " (set KTC_CONVERTER_TESTDATA)");
    } else {
        const auto tflite = dir / "tflite/hello_world_float.tflite";
        for (const auto& d : damage(tmp, "model", ".tflite", read_bytes(tflite)))
            rows.push_back({"convert --from tflite " + d.path + " -o " + out,
                            is_flip(d) ? checksumless_flip : unreadable, d.path, out,
                            "convert --from tflite " + tflite.string() + " -o " + out});
        const auto prototxt = dir / "caffe/mtcnn_det1.prototxt", weights = dir / "caffe/mtcnn_det1.caffemodel";
        for (const auto& d : damage(tmp, "net", ".caffemodel", read_bytes(weights)))
            rows.push_back({"convert --from caffe " + prototxt.string() + " " + d.path + " -o " + out,
                            is_flip(d) ? checksumless_flip : unreadable, d.path, out,
                            "convert --from caffe " + prototxt.string() + " " + weights.string() + " -o " + out});
        // A prototxt is text: cut at the end (a lost newline) or flipped in a comment it may still parse.
        for (const auto& d : damage(tmp, "net", ".prototxt", read_bytes(prototxt), false))
            if (d.damage != "cut" + std::to_string(fs::file_size(prototxt) - 1))
                rows.push_back({"convert --from caffe " + d.path + " " + weights.string() + " -o " + out, unreadable,
                                d.path, out});
        const auto keras = dir / "keras/fer2013_mini_XCEPTION.102-0.66.hdf5";
        for (const auto& d : damage(tmp, "model", ".h5", read_bytes(keras)))
            rows.push_back({"convert --from keras " + d.path + " -o " + out,
                            is_flip(d) ? checksumless_flip : unreadable, d.path, out,
                            "convert --from keras " + keras.string() + " -o " + out});
        // the wrong framework's file
        rows.push_back(
            {"convert --from keras " + tflite.string() + " -o " + out, unreadable, "hello_world_float.tflite", out});
        rows.push_back({"convert --from tflite " + keras.string() + " -o " + out, unreadable, "fer2013", out});
    }
    check(rows);
}

TEST_CASE("bad-input catalogue: optimize, upgrade and edit on damaged ONNX files") {
    temp_dir tmp("bad_onnx");
    const std::string out = tmp / "out.onnx";
    std::vector<bad_input> rows = {
        {"optimize " + tmp / "absent.onnx -o " + out, unreadable, "absent.onnx", out},
        {"upgrade " + tmp / "absent.onnx -o " + out, unreadable, "absent.onnx", out},
        {"edit " + tmp / "absent.onnx -o " + out + " --opset 11", unreadable, "absent.onnx", out},
        {"optimize " + inputs + " -o " + out, unreadable, "inputs_batch.npy", out},  // not a model at all
        {"edit " + model + " -o " + out + " --output-shape nosuch=1,10", usage, "nosuch", out},
        {"edit " + model + " -o " + out + " --rename-output logits", usage, "--rename-output", out},
        {"edit " + model + " -o", usage, "-o", out},
    };
    for (const auto& d : damage(tmp, "m", ".onnx", read_bytes(model))) {
        const auto codes = is_flip(d) ? checksumless_flip : unreadable;
        rows.push_back({"optimize " + d.path + " -o " + out, codes, d.path, out, "optimize " + model + " -o " + out});
        rows.push_back({"upgrade " + d.path + " -o " + out, codes, d.path, out, "upgrade " + model + " -o " + out});
        rows.push_back({"edit " + d.path + " -o " + out + " --opset 11", codes, d.path, out,
                        "edit " + model + " -o " + out + " --opset 11"});
    }
    check(rows);
}

TEST_CASE("bad-input catalogue: infer (--onnx, --bie, --nef; damaged models and inputs, shapes, ids, radix)") {
    const auto& s = seed();
    temp_dir tmp("bad_infer");
    const std::string out = tmp / "out";
    const std::string o = " -o " + out;
    npy::save(tmp / "rank3.npy", tensor(dtype::float32, {1, 28, 28}));
    npy::save(tmp / "dim27.npy", tensor(dtype::float32, {8, 1, 28, 27, 1}));
    npy::save(tmp / "int32.npy", tensor(dtype::int32, {8, 1, 28, 28, 1}));
    npy::save(tmp / "scalar.npy", tensor(dtype::float32, {}));
    std::vector<bad_input> rows = {
        // missing inputs and options
        {"infer --input " + inputs + o, usage, "--onnx", out},
        {"infer --onnx " + model + " --bie " + s.bie + " --input " + inputs + o, usage, "exactly one", out},
        {"infer --onnx " + model + o, usage, "missing model input 'input'", out},
        {"infer --onnx " + model + " --input " + inputs, usage, "--output", out},
        {"infer --onnx " + tmp / "absent.onnx --input " + inputs + o, unreadable, "absent.onnx", out},
        {"infer --bie " + tmp / "absent.bie --input " + inputs + o, unreadable, "absent.bie", out},
        {"infer --nef " + tmp / "absent.nef --input " + inputs + o, unreadable, "absent.nef", out},
        {"infer --onnx " + model + " --input " + tmp / "absent.npy" + o, unreadable, "absent.npy", out},
        // wrong names, shapes and types
        {"infer --onnx " + model + " --input nosuch=" + inputs + o, usage, "'nosuch'", out},
        {"infer --onnx " + model + " --input " + inputs + " --input input=" + inputs + o, usage, "given twice", out},
        {"infer --onnx " + model + " --input " + tmp / "rank3.npy" + o, usage, "'input' has shape [1,28,28]", out},
        {"infer --bie " + s.bie + " --input " + tmp / "dim27.npy" + o, usage, "'input' has shape [1,1,28,27]", out},
        {"infer --nef " + s.nef + " --input " + tmp / "scalar.npy" + o, usage, "'input' has shape []", out},
        {"infer --onnx " + model + " --input " + tmp / "int32.npy" + o, usage, "int32", out},
        // platforms, ids, radix
        {"infer --bie " + s.bie + " --platform 999 --input " + inputs + o, usage, "999", out},
        {"infer --nef " + s.nef + " --platform 720 --input " + inputs + o, usage, "720", out},
        {"infer --onnx " + model + " --platform 520 --input " + inputs + o, usage, "--platform", out},
        {"infer --nef " + s.nef + " --model-id 5 --input " + inputs + o, usage, "no model 5", out},
        {"infer --nef " + s.nef + " --model-id -1 --input " + inputs + o, usage, "--model-id -1", out},
        {"infer --nef " + s.nef + " --model-id 0 --input " + inputs + o, usage, "--model-id 0", out},
        {"infer --nef " + s.nef + " --model-id 99999999999 --input " + inputs + o, usage, "--model-id", out},
        {"infer --bie " + s.bie + " --model-id 32768 --input " + inputs + o, usage, "--model-id", out},
        {"infer --bie " + s.bie + " --radix 999 --input " + inputs + o, usage, "radix 999", out},
        {"infer --nef " + s.nef + " --radix 999 --input " + inputs + o, usage, "radix 999", out},
        {"infer --bie " + s.bie + " --radix x --input " + inputs + o, usage, "--radix", out},
        // a model of one kind given as another
        {"infer --bie " + s.nef + " --input " + inputs + o, unreadable, "m.nef", out},
        {"infer --nef " + s.bie + " --input " + inputs + o, unreadable, "m.bie", out},
        {"infer --onnx " + s.bie + " --input " + inputs + o, unreadable, "m.bie", out},
    };
    for (const auto& d : damage(tmp, "m", ".bie", read_bytes(s.bie)))
        rows.push_back({"infer --bie " + d.path + " --input " + inputs + o, unreadable, d.path, out});
    for (const auto& d : damage(tmp, "m", ".nef", read_bytes(s.nef)))
        rows.push_back({"infer --nef " + d.path + " --input " + inputs + o, unreadable, d.path, out});
    for (const auto& d : damage(tmp, "m", ".onnx", read_bytes(model)))
        rows.push_back({"infer --onnx " + d.path + " --input " + inputs + o,
                        is_flip(d) ? checksumless_flip : unreadable, d.path, out,
                        "infer --onnx " + model + " --input " + inputs + o});
    for (const auto& d : damaged_npy(tmp)) {
        rows.push_back({"infer --onnx " + model + " --input " + d.path + o, unreadable, d.path, out});
        rows.push_back({"infer --nef " + s.nef + " --input " + d.path + o, unreadable, d.path, out});
    }
    check(rows);
}

TEST_CASE("bad-input catalogue: analysis (damaged model and data, shapes, platforms, options)") {
    temp_dir tmp("bad_analysis");
    const std::string out = tmp / "out.bie";
    const std::string o = " -o " + out + " --snr-samples 0";
    npy::save(tmp / "rank3.npy", tensor(dtype::float32, {1, 28, 28}));
    npy::save(tmp / "int32.npy", tensor(dtype::int32, {8, 1, 28, 28, 1}));
    const std::string in = " --input " + inputs;
    std::vector<bad_input> rows = {
        {"analysis " + model + in + o, usage, "--platform", out},
        {"analysis " + model + " --platform 999" + in + o, usage, "unknown platform '999'", out},
        {"analysis " + model + " --platform 520" + o, usage, "missing model input 'input'", out},
        {"analysis " + model + " --platform 520" + in, usage, "--output", out},
        {"analysis --platform 520" + in + o, usage, "--model", out},
        {"analysis " + tmp / "absent.onnx --platform 520" + in + o, unreadable, "absent.onnx", out},
        {"analysis " + model + " --platform 520 --input " + tmp / "absent.npy" + o, unreadable, "absent.npy", out},
        {"analysis " + model + " --platform 520 --input nosuch=" + inputs + o, usage, "'nosuch'", out},
        {"analysis " + model + " --platform 520 --input " + tmp / "rank3.npy" + o, usage, "'input' has shape [1,28,28]",
         out},
        {"analysis " + model + " --platform 520 --input " + tmp / "int32.npy" + o, usage, "int32", out},
        {"analysis " + model + " --platform 720" + in + o + " --int16-node nosuch", usage, "'nosuch'", out},
        {"analysis " + model + " --platform 520" + in + o + " --outlier 2", usage, "percentile 2", out},
        {"analysis " + model + " --platform 520" + in + o + " --bitwidth 12", usage, "bitwidth", out},
        {"analysis " + model + " --platform 520" + in + o + " --quantize-mode sigmoid", usage, "'sigmoid'", out},
        {"analysis " + model + " --platform 520" + in + o + " --layout nwhc", usage, "nwhc", out},
    };
    for (const auto& d : damage(tmp, "m", ".onnx", read_bytes(model), false))
        rows.push_back({"analysis " + d.path + " --platform 520" + in + o, unreadable, d.path, out});
    for (const auto& d : damaged_npy(tmp))
        rows.push_back({"analysis " + model + " --platform 520 --input " + d.path + o, unreadable, d.path, out});
    check(rows);
}

TEST_CASE("bad-input catalogue: radix and compare") {
    temp_dir tmp("bad_radix");
    npy::save(tmp / "inf.npy", tensor::from<float>({3}, {1.f, -INFINITY, 0.5f}));
    std::vector<bad_input> rows = {
        {"radix " + tmp / "inf.npy", unreadable, "inf.npy"},
        {"radix " + tmp / "absent.npy", unreadable, "absent.npy"},
        {"radix --bits 4 " + inputs, usage, "--bits"},
        {"radix --bits x " + inputs, usage, "--bits"},
    };
    for (const auto& d : damaged_npy(tmp)) rows.push_back({"radix " + d.path, unreadable, d.path});

    // compare: folders holding a damaged output
    for (const char* f : {"a", "b", "c"}) fs::create_directories(tmp.path / f);
    npy::save(tmp / "a/y.npy", tensor::from<float>({1, 3}, {1.f, 2.f, 3.f}));
    tmp.file("b/y.npy", read_bytes(tmp / "a/y.npy").substr(0, 70));
    npy::save(tmp / "c/z.npy", tensor::from<float>({1, 3}, {1.f, 2.f, 3.f}));
    rows.push_back({"compare " + tmp / "a " + tmp / "b", unreadable, tmp / "b"});
    rows.push_back({"compare " + tmp / "a " + tmp / "absent", unreadable, "absent"});
    rows.push_back({"compare " + tmp / "a " + tmp / "c", usage, "no .npy file is in both"});
    rows.push_back({"compare " + tmp / "a " + inputs, unreadable, "inputs_batch.npy"});  // a file, not a folder
    check(rows);
}

TEST_CASE("bad-input catalogue: evaluate (damaged .onnx and .bie, platforms, report paths)") {
    const auto& s = seed();
    temp_dir tmp("bad_evaluate");
    const std::string json = tmp / "no_such_folder/r.json";
    std::vector<bad_input> rows = {
        {"evaluate " + model + " --platform 999", usage, "unknown platform '999'"},
        {"evaluate " + s.bie + " --platform 720", usage, "use --platform 520"},
        {"evaluate " + tmp / "absent.onnx --platform 520", unreadable, "absent.onnx"},
        {"evaluate " + tmp / "absent.bie --platform 520", unreadable, "absent.bie"},
        {"evaluate " + model + " --platform 520 --json " + json, {1}, "r.json", json},
    };
    for (const auto& d : damage(tmp, "m", ".onnx", read_bytes(model), false))
        rows.push_back({"evaluate " + d.path + " --platform 520", unreadable, d.path});
    for (const auto& d : damage(tmp, "m", ".bie", read_bytes(s.bie)))
        rows.push_back({"evaluate " + d.path + " --platform 520", unreadable, d.path});
    check(rows);
}

TEST_CASE("bad-input catalogue: compile (damaged .bie, ids, platforms, missing options)") {
    const auto& s = seed();
    temp_dir tmp("bad_compile");
    const std::string out = tmp / "out.nef";
    const std::string o = " --platform 520 -o " + out;
    std::vector<bad_input> rows = {
        {"compile -m 32768:0001:" + s.bie + " --platform 999 -o " + out, usage, "unknown platform '999'", out},
        {"compile -m 32768:0001:" + s.bie + " -o " + out, usage, "--platform", out},
        {"compile -m 32768:0001:" + s.bie + " --platform 520", usage, "--output", out},
        {"compile" + o, usage, "--model", out},
        {"compile -m 4294967296:0001:" + s.bie + o, usage, "below 2^32", out},
        {"compile -m 99999999999:0001:" + s.bie + o, usage, "99999999999", out},
        {"compile -m 32768:0001:" + s.bie + " -m 32769:0001:" + s.bie + " -m 32768:0003:" + s.bie + o, usage,
         "id 32768 is also used by", out},
        {"compile -m 32768:0001:" + tmp / "absent.bie" + o, unreadable, "absent.bie", out},
        {"compile -m 32768:0001:" + s.nef + o, unreadable, "m.nef", out},
        {"compile -m 32768:0001:" + model + o, unreadable, "fashion_cnn.onnx", out},
        {"compile -m 32768:0001:" + s.bie720 + o, usage, "quantized for platform 720", out},
        {"compile -m 32768:0001:" + s.bie + o + " --onchip-bytes x", usage, "--onchip-bytes", out},
    };
    for (const auto& d : damage(tmp, "m", ".bie", read_bytes(s.bie))) {
        rows.push_back({"compile -m 32768:0001:" + d.path + o, unreadable, d.path, out});
        // the damaged model second: nothing is written for the good first one either
        rows.push_back({"compile -m 32768:0001:" + s.bie + " -m 32769:0001:" + d.path + o, unreadable, d.path, out});
    }
    check(rows);
    CHECK_FALSE(fs::exists(tmp / "ioinfo.csv"));
}

TEST_CASE("bad-input catalogue: nef-info and combine-nef (damaged .nef, platforms, ids)") {
    const auto& s = seed();
    temp_dir tmp("bad_nef");
    const std::string out = tmp / "out";
    std::vector<bad_input> rows = {
        {"nef-info", usage, "--nef"},
        {"nef-info " + tmp / "absent.nef", unreadable, "absent.nef"},
        {"nef-info " + s.bie, unreadable, "m.bie"},
        {"nef-info " + model, unreadable, "fashion_cnn.onnx"},
        {"combine-nef -o " + out, usage, "--nef", out},
        {"combine-nef " + s.nef, usage, "--output", out},
        {"combine-nef " + s.nef + " " + tmp / "absent.nef -o " + out, unreadable, "absent.nef", out},
        {"combine-nef " + s.nef + " " + s.bie + " -o " + out, unreadable, "m.bie", out},
        {"combine-nef " + s.nef + " " + s.nef720 + " -o " + out, usage, "platform 720", out},
        {"combine-nef " + s.nef720 + " " + s.nef720 + " -o " + out, usage, "model id 32768 is in both", out},
    };
    for (const auto& d : damage(tmp, "m", ".nef", read_bytes(s.nef))) {
        rows.push_back({"nef-info " + d.path, unreadable, d.path});
        rows.push_back({"combine-nef " + s.nef + " " + d.path + " -o " + out, unreadable, d.path, out});
    }
    check(rows);
}

TEST_CASE("bad-input catalogue: flow (damaged model, data and labels; options) leaves no OUTDIR behind") {
    temp_dir tmp("bad_flow");
    const std::string out = tmp / "out";
    const std::string o = " --platform 520 -o " + out + " -q";
    npy::save(tmp / "rank3.npy", tensor(dtype::float32, {1, 28, 28}));
    std::vector<bad_input> rows = {
        {"flow " + model + " --input " + inputs + " --platform 999 -o " + out, usage, "999", out},
        {"flow " + model + " --input " + inputs + " -o " + out, usage, "--platform", out},
        {"flow " + model + o, usage, "--input", out},
        {"flow " + model + " --input " + inputs + " --platform 520", usage, "--output", out},
        {"flow " + model + " --input " + inputs + " --id 0" + o, usage, "0", out},
        {"flow " + tmp / "absent.onnx --input " + inputs + o, unreadable, "step 'inputs': " + tmp / "absent.onnx", out},
        {"flow " + model + " --input " + tmp / "rank3.npy" + o, usage, "step 'inputs': input 'input' has shape", out},
        {"flow " + model + " --input " + inputs + " --calibration-input " + tmp / "rank3.npy" + o, usage,
         "step 'inputs'", out},
        {"flow " + model + " --input " + inputs + " --labels " + tmp / "absent.npy" + o, unreadable, "absent.npy", out},
    };
    for (const auto& d : damage(tmp, "m", ".onnx", read_bytes(model), false))
        rows.push_back({"flow " + d.path + " --input " + inputs + o, unreadable, "step 'inputs': " + d.path, out});
    for (const auto& d : damaged_npy(tmp)) {
        rows.push_back({"flow " + model + " --input " + d.path + o, unreadable, d.path, out});
        rows.push_back({"flow " + model + " --input " + inputs + " --labels " + d.path + o, unreadable, d.path, out});
    }
    check(rows);
}

// What each verb does with NaN and infinities in its .npy inputs (docs/cli.md, "Bad inputs"):
// float inference computes with them (IEEE: a NaN input gives NaN outputs); fixed-point and
// hardware inference quantize them as fixed_point.hpp says (NaN -> 0, +-inf saturate) and run;
// calibration refuses them (a range cannot be learnt from them: the observers would skip them and
// an all-NaN input would get an arbitrary radix), so analysis and flow's analysis step exit 2
// naming the input, sample and element; radix exits 4 naming the file; compare reports NaN.
TEST_CASE("bad-input catalogue: NaN and infinity in .npy inputs, verb by verb") {
    const auto& s = seed();
    temp_dir tmp("bad_nan");
    tensor nan(dtype::float32, {8, 1, 28, 28, 1}), inf(dtype::float32, {8, 1, 28, 28, 1});
    for (std::int64_t i = 0; i < nan.size(); ++i) nan.data<float>()[i] = inf.data<float>()[i] = 0.25f;
    nan.data<float>()[100] = std::nanf("");
    inf.data<float>()[3 * 784 + 5] = -INFINITY;
    npy::save(tmp / "nan.npy", nan);
    npy::save(tmp / "inf.npy", inf);

    tensor clean(dtype::float32, {8, 1, 28, 28, 1});
    for (std::int64_t i = 0; i < clean.size(); ++i) clean.data<float>()[i] = 0.25f;
    npy::save(tmp / "clean.npy", clean);
    REQUIRE(ktc_run("infer --onnx " + model + " --input " + tmp / "clean.npy" + " -o " + tmp / "clean_float -q").code ==
            0);

    // infer: float computes with them; fixed point and hardware run (NaN quantizes to 0) and agree.
    for (const std::string& f : {"nan", "inf"}) {
        CAPTURE(f);
        const std::string x = tmp / (f + ".npy");
        REQUIRE(ktc_run("infer --onnx " + model + " --input " + x + " -o " + tmp / (f + "_float") + " -q").code == 0);
        // the samples without the NaN or infinity are untouched by it
        const auto logits = npy::load(tmp / (f + "_float/logits.npy")).to_vector<float>();
        const auto clean = npy::load(tmp / "clean_float/logits.npy").to_vector<float>();
        for (std::size_t i = 4 * 10; i < clean.size(); ++i) CHECK(logits[i] == clean[i]);
        REQUIRE(ktc_run("infer --bie " + s.bie + " --input " + x + " -o " + tmp / (f + "_fixed") + " -q").code == 0);
        REQUIRE(ktc_run("infer --nef " + s.nef + " --input " + x + " -o " + tmp / (f + "_hw") + " -q").code == 0);
        for (const float v : npy::load(tmp / (f + "_fixed/logits.npy")).to_vector<float>()) CHECK(std::isfinite(v));
        const auto same = ktc_run("compare " + tmp / (f + "_fixed") + " " + tmp / (f + "_hw"));
        CHECK(same.code == 0);
        CHECK(same.output.find("exact") != std::string::npos);

        // analysis refuses to calibrate on them, naming the input, the sample and the element
        const auto a = ktc_run("analysis " + model + " --platform 520 --input " + x + " -o " + tmp / (f + ".bie"));
        CHECK(a.code == 2);
        CHECK(line_count(a.output) == 1);
        CHECK(a.output.find(f == "nan" ? "'input', sample 0, element 100 is NaN"
                                       : "'input', sample 3, element 5 is -inf") != std::string::npos);
        CHECK_FALSE(fs::exists(tmp / (f + ".bie")));
        // flow: refused at its analysis step (the float step before it has run and kept its files)
        const auto fl =
            ktc_run("flow " + model + " --input " + x + " --platform 520 -o " + tmp / (f + "_flow") + " -q");
        CHECK(fl.code == 2);
        CHECK(line_count(fl.output) == 1);
        CHECK(fl.output.find("step 'analysis': calibration input 'input'") != std::string::npos);
        CHECK_FALSE(fs::exists(tmp / (f + "_flow/flow.txt")));
        CHECK_FALSE(fs::exists(tmp / (f + "_flow/fashion_cnn.bie")));
        // ... unless the calibration data is finite: then the flow runs the NaN samples through
        CHECK(ktc_run("flow " + model + " --input " + x + " --calibration-input " + inputs + " --platform 520 -o " +
                      tmp / (f + "_flow2") + " -q")
                  .code == 0);
        // radix: no fixed-point radix for non-finite data
        const auto r = ktc_run("radix " + x);
        CHECK(r.code == 4);
        CHECK(r.output.find(f + ".npy") != std::string::npos);
    }
    // compare: a NaN against a number is a NaN difference (not 0); the same NaN in both agrees
    for (const char* f : {"ca", "cb"}) fs::create_directories(tmp.path / f);
    npy::save(tmp / "ca/y.npy", tensor::from<float>({1, 3}, {1.f, std::nanf(""), 3.f}));
    npy::save(tmp / "cb/y.npy", tensor::from<float>({1, 3}, {1.f, 2.f, 3.f}));
    const auto c = ktc_run("compare " + tmp / "cb " + tmp / "ca");
    CHECK(c.code == 0);
    CHECK(c.output.find("nan") != std::string::npos);
    const auto self = ktc_run("compare " + tmp / "ca " + tmp / "ca");
    CHECK(self.code == 0);
    CHECK(self.output.find("exact") != std::string::npos);
}
