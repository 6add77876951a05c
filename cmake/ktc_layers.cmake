# cmake/ktc_layers.cmake - the order of ktc's modules (the directories of include/ktc/), lowest
# first: the one place it is written (docs/design.md, "Layers"). A module's headers may include
# its own module and the ones before it, never one after it (cmake/check_layers.cmake), so no two
# modules can depend on each other.

# ktc::core: no protobuf, no onnx (cmake/check_core_closure.cmake).
set(KTC_CORE_LAYERS
    core      # errors, tensors, dtypes, layouts, npy
    graph     # the IR and the op registry
    platform  # chip traits and tags
    fixed     # the fixed-point format of a value and how a quantized graph records it
    kernels   # float and fixed-point kernels
    eval      # operator support and the cost model
    sim)      # the graph interpreter and the float and fixed-point simulators

set(KTC_LAYERS ${KTC_CORE_LAYERS}
    onnx      # .onnx import and export (ktc::ktc: protobuf and onnx from here on)
    rewrite   # the optimizer's passes and flows
    convert   # TFLite, Caffe and Keras converters (ktc::convert)
    quant     # calibration, quantization, the quantized model
    compiler  # lowering, memory plan, the compiled program and its hardware simulator
    io        # the .bie and .nef files
    api)      # the library's calls behind the ktc verbs
