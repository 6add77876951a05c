// The compiler verbs end to end on the bundled example: ktc compile for 520 and 720 (also int16,
// also tiled with a tiny on-chip memory), ktc infer --nef equal to ktc infer --bie bit for bit on
// the 8 bundled inputs, ktc nef-info, ktc combine-nef, and every rejection rule with its exit code
// and one line.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using testing::ktc_run;
using testing::line_count;
using testing::temp_dir;

namespace {

const std::string example = std::string(KTC_SOURCE_DIR) + "/examples/fashion_mnist/";
const std::string inputs = example + "inputs_batch.npy";

bool same_bits(const fs::path& a, const fs::path& b) {
    const tensor x = npy::load(a), y = npy::load(b);
    return x.type() == y.type() && x.shape() == y.shape() && std::memcmp(x.raw(), y.raw(), x.byte_size()) == 0;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("compile, then infer --nef equals infer --bie bit for bit on 520 and 720, tiled or not") {
    temp_dir tmp("compile");
    const std::string model = example + "fashion_cnn.onnx";
    struct variant {
        std::string platform, extra, tag;
    };
    for (const variant& v :
         {variant{"520", "", "520"}, variant{"720", "", "720"}, variant{"720", " --bitwidth 16", "720w16"}}) {
        const std::string bie = tmp / ("m" + v.tag + ".bie");
        REQUIRE(ktc_run("analysis " + model + " --platform " + v.platform + v.extra + " --input " + inputs + " -o " +
                        bie + " --snr-samples 0")
                    .code == 0);
        REQUIRE(
            ktc_run("infer --bie " + bie + " --input " + inputs + " -o " + tmp / ("bie" + v.tag) + " --quiet").code ==
            0);
        for (const std::string onchip : {"", " --onchip-bytes 256"}) {
            const std::string nef = tmp / ("m" + v.tag + (onchip.empty() ? "" : "_tiny") + ".nef");
            const auto c =
                ktc_run("compile --model 32768:0001:" + bie + " --platform " + v.platform + " -o " + nef + onchip);
            REQUIRE_MESSAGE(c.code == 0, c.output);
            CHECK(c.output.find("model 32768 v0001") != std::string::npos);
            const std::string out = tmp / ("nef" + v.tag + (onchip.empty() ? "" : "_tiny"));
            const auto r = ktc_run("infer --nef " + nef + " --input " + inputs + " -o " + out + " --quiet");
            REQUIRE_MESSAGE(r.code == 0, r.output);
            for (const auto& e : fs::directory_iterator(tmp / ("bie" + v.tag)))
                CHECK_MESSAGE(same_bits(e.path(), fs::path(out) / e.path().filename()), e.path().filename().string(),
                              " ", v.tag, onchip);
            // the same with --model-id and a radix override
            if (v.tag == "520") {
                REQUIRE(ktc_run("infer --bie " + bie + " --radix 6 --input " + inputs + " -o " + tmp / "bie_r6" +
                                " --quiet")
                            .code == 0);
                REQUIRE(ktc_run("infer --nef " + nef + " --model-id 32768 --radix 6 --input " + inputs + " -o " +
                                tmp / "nef_r6" + " --quiet")
                            .code == 0);
                CHECK(same_bits(tmp / "bie_r6/logits.npy", tmp / "nef_r6/logits.npy"));
            }
        }
        // the tiny budget really splits: more RUN_LAYER commands
        const auto big = ktc_run("nef-info " + tmp / ("m" + v.tag + ".nef")),
                   tiny = ktc_run("nef-info " + tmp / ("m" + v.tag + "_tiny.nef"));
        const auto runs = [](const std::string& s) { return std::stoi(s.substr(s.find("RUN_LAYER ") + 10)); };
        CHECK(runs(tiny.output) > runs(big.output));
    }
    // ioinfo.csv next to the .nef
    const std::string csv = read(tmp / "ioinfo.csv");
    CHECK(csv.rfind("i,0,input,", 0) == 0);
    CHECK(csv.find("\no,0,logits,10,1,1,32768\n") != std::string::npos);
}

TEST_CASE("nef-info lists the models; combine-nef merges; a multi-model .nef runs each model by id") {
    temp_dir tmp("nefinfo");
    const std::string bie = tmp / "m.bie";
    REQUIRE(ktc_run("analysis " + example + "fashion_cnn.onnx --platform 520 --input " + inputs + " -o " + bie +
                    " --snr-samples 0")
                .code == 0);
    REQUIRE(ktc_run("compile -m 32768:0001:" + bie + " --platform 520 -o " + tmp / "a.nef --quiet").code == 0);
    REQUIRE(ktc_run("compile -m 32769:00ff:" + bie + " --platform 520 -o " + tmp / "b.nef --weight-compress --quiet")
                .code == 0);
    const auto info = ktc_run("nef-info " + tmp / "a.nef");
    CHECK(info.code == 0);
    CHECK(info.output.find("platform 520") != std::string::npos);
    CHECK(info.output.find("model 32768 version 0001 'm'") != std::string::npos);
    CHECK(info.output.find("output logits [1,10] int8") != std::string::npos);

    const auto comb = ktc_run("combine-nef " + tmp / "a.nef " + tmp / "b.nef -o " + tmp / "out");
    CHECK(comb.code == 0);
    REQUIRE(fs::exists(tmp / "out/models_520.nef"));
    const auto both = ktc_run("nef-info " + tmp / "out/models_520.nef");
    CHECK(both.output.find("model 32768 version 0001") != std::string::npos);
    CHECK(both.output.find("model 32769 version 00ff") != std::string::npos);
    REQUIRE(ktc_run("infer --bie " + bie + " --input " + inputs + " -o " + tmp / "ref --quiet").code == 0);
    for (const std::string id : {"32768", "32769"}) {
        REQUIRE(ktc_run("infer --nef " + tmp / "out/models_520.nef --model-id " + id + " --input " + inputs + " -o " +
                        tmp / id + " --quiet")
                    .code == 0);
        CHECK(same_bits(tmp / "ref/logits.npy", tmp / (id + "/logits.npy")));
    }
    // three different models in one compile: each runs by its id as it does alone
    const std::string bie2 = tmp / "per_tensor.bie", bie3 = tmp / "max.bie";
    REQUIRE(ktc_run("analysis " + example + "fashion_cnn.onnx --platform 520 --input " + inputs + " -o " + bie2 +
                    " --per-tensor-weights --snr-samples 0")
                .code == 0);
    REQUIRE(ktc_run("analysis " + example + "fashion_cnn.onnx --platform 520 --input " + inputs + " -o " + bie3 +
                    " --range max --no-equalize --snr-samples 0")
                .code == 0);
    REQUIRE(ktc_run("compile -m 40001:0001:" + bie + " -m 40002:0002:" + bie2 + " -m 40003:0003:" + bie3 +
                    " --platform 520 -o " + tmp / "three.nef --quiet")
                .code == 0);
    const std::pair<std::string, std::string> models[] = {{"40001", bie}, {"40002", bie2}, {"40003", bie3}};
    for (const auto& [id, model] : models) {
        REQUIRE(
            ktc_run("infer --bie " + model + " --input " + inputs + " -o " + tmp / ("alone" + id) + " --quiet").code ==
            0);
        REQUIRE(ktc_run("infer --nef " + tmp / "three.nef --model-id " + id + " --input " + inputs + " -o " +
                        tmp / ("t" + id) + " --quiet")
                    .code == 0);
        CHECK(same_bits(tmp / ("alone" + id + "/logits.npy"), tmp / ("t" + id + "/logits.npy")));
    }
    CHECK(!same_bits(tmp / "alone40001/logits.npy", tmp / "alone40003/logits.npy"));  // they do differ
    const auto which = ktc_run("infer --nef " + tmp / "three.nef --input " + inputs + " -o " + tmp / "t0");
    CHECK(which.code == 2);
    CHECK(which.output.find("--model-id") != std::string::npos);
    CHECK(ktc_run("infer --nef " + tmp / "three.nef --model-id 5 --input " + inputs + " -o " + tmp / "t5").code == 2);
}

TEST_CASE("compile, combine-nef and nef-info reject bad input with one line and their exit codes") {
    temp_dir tmp("compilebad");
    const std::string bie = tmp / "m.bie", bie720 = tmp / "m720.bie";
    REQUIRE(ktc_run("analysis " + example + "fashion_cnn.onnx --platform 520 --input " + inputs + " -o " + bie +
                    " --snr-samples 0")
                .code == 0);
    REQUIRE(ktc_run("analysis " + example + "fashion_cnn.onnx --platform 720 --input " + inputs + " -o " + bie720 +
                    " --snr-samples 0")
                .code == 0);
    const std::string out = " -o " + tmp / "x.nef";
    struct reject {
        std::string args, says;
    };
    for (const reject& r : {
             reject{"-m 0:0001:" + bie + " --platform 520" + out, "must be an integer > 0"},
             reject{"--model=-3:0001:" + bie + " --platform 520" + out, "must be an integer > 0"},
             reject{"-m abc:0001:" + bie + " --platform 520" + out, "is not an integer"},
             reject{"-m 32768:001:" + bie + " --platform 520" + out, "not 4 hex digits"},
             reject{"-m 32768:00g1:" + bie + " --platform 520" + out, "not 4 hex digits"},
             reject{"-m 32768:0001:" + bie + " -m 32768:0002:" + bie + " --platform 520" + out, "also used by"},
             reject{"-m 32768:0001:" + bie + " -m 32769:0001:" + bie720 + " --platform 520" + out,
                    "quantized for platform 720"},
             reject{"-m 32768:0001 --platform 520" + out, "ID:VERSION:FILE.bie"},
             reject{"-m 32768:0001:" + bie + " --platform 530" + out, "unknown platform"},
             reject{"-m 32768:0001:" + bie + out, "platform"},
         }) {
        const auto res = ktc_run("compile " + r.args);
        CHECK_MESSAGE(res.code == 2, r.args, " -> ", res.output);
        CHECK_MESSAGE(res.output.find(r.says) != std::string::npos, res.output);
        CHECK_MESSAGE(line_count(res.output) == 1, res.output);
    }
    CHECK(!fs::exists(tmp / "x.nef"));
    // a reserved id warns and still compiles
    const auto warn = ktc_run("compile -m 7:0001:" + bie + " --platform 520 -o " + tmp / "v.nef --quiet");
    CHECK(warn.code == 0);
    CHECK(warn.output.find("warning: model id 7") != std::string::npos);
    // combine: mixed platforms, clashing ids
    REQUIRE(ktc_run("compile -m 32768:0001:" + bie + " --platform 520 -o " + tmp / "a.nef --quiet").code == 0);
    REQUIRE(ktc_run("compile -m 32769:0001:" + bie720 + " --platform 720 -o " + tmp / "c.nef --quiet").code == 0);
    const auto mixed = ktc_run("combine-nef " + tmp / "a.nef " + tmp / "c.nef -o " + tmp / "o");
    CHECK(mixed.code == 2);
    CHECK(line_count(mixed.output) == 1);
    CHECK(mixed.output.find("platform 720") != std::string::npos);
    const auto clash = ktc_run("combine-nef " + tmp / "a.nef " + tmp / "a.nef -o " + tmp / "o");
    CHECK(clash.code == 2);
    CHECK(clash.output.find("model id 32768 is in both") != std::string::npos);
    // damaged files: exit 4 naming the file
    const std::string bytes = read(tmp / "a.nef");
    const std::string cut = tmp.file("cut.nef", bytes.substr(0, bytes.size() / 2));
    std::string flipped = bytes;
    flipped[bytes.size() / 3] ^= 0x10;
    const std::string flip = tmp.file("flip.nef", flipped);
    for (const std::string& f : {cut, flip}) {
        for (const std::string& verb : {"nef-info " + f, "infer --nef " + f + " --input " + inputs + " -o " + tmp / "z",
                                        "combine-nef " + f + " -o " + tmp / "z"}) {
            const auto res = ktc_run(verb);
            CHECK_MESSAGE(res.code == 4, verb, " -> ", res.output);
            CHECK(res.output.find(f) != std::string::npos);
            CHECK(line_count(res.output) == 1);
        }
    }
}
