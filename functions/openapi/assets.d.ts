// The swagger-ui-dist files /api/docs/ serves, imported as text (esbuild's `with { type: 'text' }`).
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/absolute-path.js' {
  const absolutePath: () => string;
  export default absolutePath;
}
