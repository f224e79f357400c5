// The bundle's own typings sit behind an exports map that this project's moduleResolution
// ("node") does not read; these are its exports (strings of source, and the favicon as a data: URL).
declare module '@graphql-yoga/render-graphiql/graphiql' {
  export const css: string;
  export const js: string;
  export const editorWorkerService: string;
  export const jsonWorker: string;
  export const graphqlWorker: string;
  export const favicon: string;
}
