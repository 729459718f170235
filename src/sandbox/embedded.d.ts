// QuickJS's WebAssembly, imported as a file (`with { type: "file" }`): a path, which the compiled
// binary embeds (see interpreter.ts).
declare module "@jitl/quickjs-wasmfile-release-sync/wasm" {
  const path: string;
  export default path;
}
