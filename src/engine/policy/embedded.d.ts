// Shipped YAML catalogs, packs and Rego policies are imported as text (`with { type: "text" }`)
// so they are embedded in the compiled binary; nothing shipped is read from disk at run time.
declare module "*.yaml" {
  const text: string;
  export default text;
}
declare module "*.rego" {
  const text: string;
  export default text;
}
