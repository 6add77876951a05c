// tests/workflow/test_api.cpp - the seed-shaped C++ API (ktc/api.hpp): the workflow on a small
// model end to end in memory, and every misuse answered with its typed error, never an exit.
#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

#include "compiler/small_model.hpp"
#include "ktc/api.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/quant/accuracy.hpp"

namespace ktc {

namespace {

// Four samples of the small model's input, stacked, channel-first.
tensor api_samples() {
    tensor all(dtype::float32, {4, 1, 3, 17, 12});
    const std::int64_t per = all.size() / 4;
    for (std::size_t i = 0; i < 4; ++i) {
        const tensor x = testing::small_sample(i).at("x");
        std::memcpy(all.raw() + i * per * 4, x.raw(), x.byte_size());
    }
    return all;
}

model_config api_model(const std::string& platform, std::uint32_t id = 32769) {
    return model_config{id, "0001", platform, testing::small_float_model(), {}, {}, std::nullopt, {}};
}

analysis_options api_analysis() {
    analysis_options o;
    o.input_layout = layout::channel_first;
    o.threads = 1;
    return o;
}

inference_options api_run(const graph::graph* onnx, const quant::bie_model* bie, const compiler::nef_file* nef) {
    inference_options o;
    o.onnx = onnx, o.bie = bie, o.nef = nef, o.input_layout = layout::channel_first;
    return o;
}

struct api_temp_dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("ktc_test_api_" + std::to_string(::getpid()));
    api_temp_dir() { std::filesystem::create_directories(path); }
    ~api_temp_dir() { std::filesystem::remove_all(path); }
};

bool api_same_bytes(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && a.byte_size() == b.byte_size() &&
           std::memcmp(a.raw(), b.raw(), a.byte_size()) == 0;
}

}  // namespace

TEST_CASE("api: the workflow in memory - evaluate, analysis, inference of onnx, bie and nef, compile") {
    for (const std::string platform : {"520", "720"}) {
        CAPTURE(platform);
        model_config km = api_model(platform);
        const eval::evaluation e = km.evaluate();
        CHECK(e.support.runnable());
        REQUIRE(e.performance);
        CHECK(e.performance->fps() > 0);

        const tensor x = api_samples();
        const graph::graph optimized = onnx_optimizer::onnx2onnx_flow(*km.onnx);
        const auto floats = kneron_inference(std::vector<tensor>{x}, api_run(&optimized, nullptr, nullptr));
        REQUIRE(floats.size() == 1);
        CHECK(floats[0].shape() == shape_t{4, 1, 5});

        const quant::bie_model& bie = km.analysis(input_mapping{{"x", {x}}}, api_analysis());
        CHECK(ktc::platform::to_string(bie.platform) == platform);
        CHECK(bie.calibration_samples == 4);
        CHECK(km.bie.has_value());
        const auto fixed = kneron_inference(std::vector<tensor>{x}, api_run(nullptr, &*km.bie, nullptr));
        const auto agree = quant::compare_outputs("y", floats[0], fixed[0]);
        CHECK(agree.error.snr_db() > 15);

        const compile_result c = ktc::compile({km});
        CHECK(ktc::platform::to_string(c.nef.platform) == platform);
        REQUIRE(c.models.size() == 1);
        CHECK(c.models[0].id == 32769);
        CHECK(c.nef_path.empty());  // in memory only
        CHECK(c.ioinfo_csv.find("o,0,y,5,1,1,32769") != std::string::npos);
        const auto hardware = kneron_inference(std::vector<tensor>{x}, api_run(nullptr, nullptr, &c.nef));
        CHECK(api_same_bytes(hardware[0], fixed[0]));
    }
}

TEST_CASE("api: stacked samples on 1, 2 and 3 threads give the same bytes (onnx, bie, nef) and the same progress") {
    model_config km = api_model("720");
    tensor x(dtype::float32, {9, 1, 3, 17, 12});  // more samples than threads, not a multiple of them
    const std::int64_t per = x.size() / 9;
    for (std::size_t i = 0; i < 9; ++i) {
        const tensor one = testing::small_sample(i).at("x");
        std::memcpy(x.raw() + std::int64_t(i) * per * 4, one.raw(), one.byte_size());
    }
    km.analysis(input_mapping{{"x", {x}}}, api_analysis());
    const compile_result c = ktc::compile({km});
    const graph::graph optimized = onnx_optimizer::onnx2onnx_flow(*km.onnx);
    for (const auto& model : {api_run(&optimized, nullptr, nullptr), api_run(nullptr, &*km.bie, nullptr),
                              api_run(nullptr, nullptr, &c.nef)}) {
        std::vector<tensor> outputs;
        for (const unsigned threads : {1u, 2u, 3u}) {
            CAPTURE(threads);
            inference_options o = model;
            o.threads = threads;
            std::vector<std::int64_t> seen;  // one call at a time: no lock needed here
            std::int64_t totals = 0;
            const auto y = model_runner(o).run(sim::tensor_map{{"x", x}}, [&](std::int64_t done, std::int64_t total) {
                seen.push_back(done);
                totals += total;
            });
            CHECK(seen == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
            CHECK(totals == 9 * 9);
            outputs.push_back(y.at("y"));
            CHECK(api_same_bytes(outputs.back(), outputs.front()));
        }
    }
}

TEST_CASE("api: a failing sample on several threads reports the lowest failing sample, as one thread does") {
    const std::vector<graph::value_info> inputs{graph::value_info{"x", dtype::float32, {1, 2}, true}};
    tensor x(dtype::float32, {8, 1, 2});
    for (std::int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = float(i / 2);  // sample k holds k, k
    const auto run_one = [](const sim::tensor_map& one) {
        const float k = one.at("x").data<float>()[0];
        if (k == 3 || k == 6) throw usage_error("sample " + std::to_string(int(k)) + " failed");
        return one;
    };
    for (const unsigned threads : {1u, 2u, 4u, 8u}) {
        CAPTURE(threads);
        CHECK_THROWS_WITH_AS(sim::run_samples(inputs, run_one, {{"x", x}}, layout::channel_first, {}, threads),
                             "sample 3 failed", usage_error);
    }
}

TEST_CASE("api: files - analysis writes the .bie, compile the .nef and ioinfo.csv, combine_nef merges") {
    api_temp_dir tmp;
    model_config a = api_model("520", 32769);
    analysis_options o = api_analysis();
    o.output_bie = tmp.path / "a.bie";
    a.analysis(sim::tensor_map{{"x", api_samples()}}, o);
    REQUIRE(std::filesystem::exists(tmp.path / "a.bie"));

    // The seed's second model: given by its .bie file.
    model_config b{32770, "00ff", "520", std::nullopt, {}, tmp.path / "a.bie", std::nullopt, {}};
    compile_options co;
    co.output = tmp.path / "ab.nef";
    const compile_result both = ktc::compile({a, b}, co);
    CHECK(both.nef.models.size() == 2);
    CHECK(std::filesystem::exists(tmp.path / "ab.nef"));
    CHECK(std::filesystem::exists(tmp.path / "ioinfo.csv"));

    // A two-model .nef needs model_id; each model runs the same quantized graph here.
    inference_options pick;
    pick.nef_file = tmp.path / "ab.nef";
    pick.input_layout = layout::channel_first;
    const std::vector<tensor> x = {testing::small_sample(0).at("x")};
    CHECK_THROWS_AS(kneron_inference(x, pick), usage_error);
    pick.model_id = 32770;
    const auto second = kneron_inference(x, pick);
    pick.model_id = 32769;
    CHECK(api_same_bytes(kneron_inference(x, pick)[0], second[0]));
    pick.model_id = 5;
    CHECK_THROWS_AS(kneron_inference(x, pick), usage_error);

    co.output = tmp.path / "b.nef";
    ktc::compile({b}, co);
    // ids clash across the two files
    CHECK_THROWS_AS(combine_nef({tmp.path / "ab.nef", tmp.path / "b.nef"}, tmp.path / "combined"), usage_error);
    co.output = tmp.path / "a.nef";
    ktc::compile({a}, co);
    const auto merged = combine_nef({tmp.path / "a.nef", tmp.path / "b.nef"}, tmp.path / "combined");
    CHECK(merged == tmp.path / "combined" / "models_520.nef");
    CHECK(io::load_nef(merged).models.size() == 2);
}

TEST_CASE("api: model_config misuse is a usage_error naming what is wrong") {
    model_config km = api_model("520");
    km.version = "1";
    CHECK_THROWS_AS(km.validate(), usage_error);
    km.version = "0001";
    km.platform = "530";
    CHECK_THROWS_AS(km.evaluate(), usage_error);
    km.platform = "520";
    km.id = 0;
    CHECK_THROWS_AS(km.validate(), usage_error);
    km.id = 32769;
    km.onnx_path = "also.onnx";  // two models
    CHECK_THROWS_AS(km.validate(), usage_error);
    km.onnx_path.clear();
    CHECK_NOTHROW(km.validate());
    CHECK_THROWS_AS(km.quantized(), usage_error);  // no analysis yet
    CHECK_THROWS_AS(ktc::compile({km}), usage_error);
    CHECK_THROWS_AS(ktc::compile({}), usage_error);

    // inputs: an unknown name, no samples, a wrong shape
    CHECK_THROWS_AS(km.analysis(input_mapping{{"nope", {api_samples()}}}, api_analysis()), usage_error);
    CHECK_THROWS_AS(km.analysis(input_mapping{{"x", {}}}, api_analysis()), usage_error);
    CHECK_THROWS_AS(km.analysis(input_mapping{{"x", {tensor(dtype::float32, {3, 3})}}}, api_analysis()), usage_error);
    analysis_options sixteen = api_analysis();
    sixteen.bitwidth = 12;
    CHECK_THROWS_AS(km.analysis(input_mapping{{"x", {api_samples()}}}, sixteen), usage_error);
    CHECK_FALSE(km.bie.has_value());

    // two models for one compile: ids and platforms must differ / agree
    model_config other = api_model("520");
    km.analysis(input_mapping{{"x", {api_samples()}}}, api_analysis());
    other.bie = km.bie;
    CHECK_THROWS_AS(ktc::compile({km, other}), usage_error);  // the same id
    other.id = 40000;
    other.platform = "720";
    CHECK_THROWS_AS(ktc::compile({km, other}), usage_error);  // quantized for 520, config says 720
    other.platform = "520";
    const compile_result low = ktc::compile({[&] {
        auto k = km;
        k.id = 7;
        return k;
    }()});
    REQUIRE(low.warnings.size() == 1);  // a reserved id warns and still compiles
    CHECK(low.warnings[0].find("model id 7") != std::string::npos);
}

TEST_CASE("api: missing files are file_errors, unsupported models unsupported_errors") {
    model_config missing{32769, "0001", "520", std::nullopt, "/nonexistent/m.onnx", {}, std::nullopt, {}};
    CHECK_THROWS_AS(missing.evaluate(), file_error);
    model_config no_bie{32769, "0001", "520", std::nullopt, {}, "/nonexistent/m.bie", std::nullopt, {}};
    CHECK_THROWS_AS(ktc::compile({no_bie}), file_error);
    inference_options o;
    o.nef_file = "/nonexistent/m.nef";
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{}, o), file_error);

    // A 3-D convolution runs on no chip.
    testing::model_builder b(13);
    b.input("x", {1, 1, 4, 4, 4});
    b.output("y", {1, 1, 2, 2, 2});
    testing::add_float_initializer(b, "w", {1, 1, 3, 3, 3}, testing::ramp(27, 0.1f));
    b.node("Conv", {"x", "w"}, {"y"})->set_name("conv3d");
    model_config km{32769, "0001", "720", ktc::onnx::parse(b.bytes(), "conv3d.onnx"), {}, {}, std::nullopt, {}};
    CHECK_THROWS_AS(km.evaluate(), unsupported_error);
    evaluate_options keep;
    keep.require_runnable = false;
    CHECK_FALSE(km.evaluate(keep).support.runnable());
    CHECK_THROWS_AS(km.analysis(sim::tensor_map{{"x", tensor(dtype::float32, {1, 1, 4, 4, 4})}}, api_analysis()),
                    unsupported_error);
}

TEST_CASE("api: kneron_inference takes exactly one model; radix only for quantized ones; names map inputs") {
    const graph::graph g = testing::small_float_model();
    inference_options none;
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{}, none), usage_error);
    inference_options two = api_run(&g, nullptr, nullptr);
    two.onnx_file = "m.onnx";
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{}, two), usage_error);
    inference_options radix = api_run(&g, nullptr, nullptr);
    radix.radix = 7;
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{}, radix), usage_error);

    const tensor x = testing::small_sample(1).at("x");
    inference_options named = api_run(&g, nullptr, nullptr);
    named.input_names = {"x"};
    const auto by_name = kneron_inference(std::vector<tensor>{x}, named);
    const auto by_order = kneron_inference(std::vector<tensor>{x}, api_run(&g, nullptr, nullptr));
    CHECK(api_same_bytes(by_name[0], by_order[0]));
    named.input_names = {"z"};
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{x}, named), usage_error);
    CHECK_THROWS_AS(kneron_inference(std::vector<tensor>{x, x}, api_run(&g, nullptr, nullptr)), usage_error);

    // channel-last (the default) is the channel-first data transposed
    inference_options last;
    last.onnx = &g;
    const auto nhwc = kneron_inference(std::vector<tensor>{channel_first_to_last(x)}, last);
    CHECK(api_same_bytes(nhwc[0], by_order[0]));  // [1,5]: no channel axis to move
}

TEST_CASE("api: get_radix fits the largest magnitude; non-finite data and odd widths are usage errors") {
    CHECK(get_radix({tensor::from<float>({2}, {-0.5f, 0.5f})}) == 8);
    CHECK(get_radix({tensor::from<float>({2}, {0.25f, 1.f}), tensor::from<float>({1}, {-1.5f})}) == 6);
    CHECK(get_radix({tensor::from<float>({1}, {1.5f})}, 16) == 14);
    CHECK_THROWS_AS(get_radix({tensor::from<float>({1}, {std::nanf("")})}), usage_error);
    CHECK_THROWS_AS(get_radix({tensor::from<float>({1}, {1.f})}, 12), usage_error);
    CHECK_THROWS_AS(get_radix({}), usage_error);
}

TEST_CASE("api: onnx_optimizer flows return a new model and leave the given one as it was") {
    testing::model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Identity", {"x"}, {"i"});
    b.node("Relu", {"i"}, {"y"});
    const graph::graph g = ktc::onnx::parse(b.bytes(), "identity.onnx");
    const graph::graph optimized = onnx_optimizer::onnx2onnx_flow(g);
    CHECK(g.node_count() == 2);
    CHECK(optimized.node_count() == 1);
    CHECK(onnx_optimizer::torch_exported_onnx_flow(g).node_count() == 1);
    const graph::graph eleven = onnx_optimizer::onnx1_4to1_6(g);  // already newer: unchanged
    CHECK(eleven.opset == g.opset);
}

}  // namespace ktc
