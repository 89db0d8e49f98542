# Finds SentencePiece and defines the target lstmnlp::sentencepiece.
#
# Search order:
#  1. SENTENCEPIECE_ROOT (a prefix), defaulting to third_party/sentencepiece, which
#     scripts/setup.sh builds statically against the system protobuf;
#  2. pkg-config's `sentencepiece` (for example Debian's shared library, which is fine with a
#     LibTorch that does not export protobuf symbols, such as PyTorch's).
# Do not combine Debian's libsentencepiece.so with Debian's libtorch: both carry protobuf and the
# process crashes while loading.
set(SENTENCEPIECE_ROOT "${CMAKE_CURRENT_SOURCE_DIR}/third_party/sentencepiece"
    CACHE PATH "Prefix of a SentencePiece installation")

find_path(SPM_INCLUDE_DIR sentencepiece_processor.h
          PATHS "${SENTENCEPIECE_ROOT}/include" NO_DEFAULT_PATH)
find_library(SPM_LIBRARY NAMES libsentencepiece.a sentencepiece
             PATHS "${SENTENCEPIECE_ROOT}/lib" "${SENTENCEPIECE_ROOT}/lib64" NO_DEFAULT_PATH)
find_library(SPM_TRAIN_LIBRARY NAMES libsentencepiece_train.a sentencepiece_train
             PATHS "${SENTENCEPIECE_ROOT}/lib" "${SENTENCEPIECE_ROOT}/lib64" NO_DEFAULT_PATH)

add_library(lstmnlp::sentencepiece INTERFACE IMPORTED)
if(SPM_INCLUDE_DIR AND SPM_LIBRARY AND SPM_TRAIN_LIBRARY)
  find_package(Protobuf REQUIRED)
  message(STATUS "SentencePiece: ${SPM_LIBRARY}")
  set_target_properties(lstmnlp::sentencepiece PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SPM_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${SPM_TRAIN_LIBRARY};${SPM_LIBRARY};${Protobuf_LIBRARIES};Threads::Threads")
  find_program(SPM_ENCODE_EXECUTABLE spm_encode PATHS "${SENTENCEPIECE_ROOT}/bin" NO_DEFAULT_PATH)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SPM REQUIRED IMPORTED_TARGET sentencepiece)
  message(STATUS "SentencePiece (pkg-config): ${SPM_LINK_LIBRARIES}")
  find_library(SPM_TRAIN_SHARED sentencepiece_train HINTS ${SPM_LIBRARY_DIRS})
  set_target_properties(lstmnlp::sentencepiece PROPERTIES
    INTERFACE_LINK_LIBRARIES "PkgConfig::SPM;${SPM_TRAIN_SHARED}")
  find_program(SPM_ENCODE_EXECUTABLE spm_encode)
endif()
