// Prints what `npm run codegen` would write, as JSON [{ filename, content }], without writing it
// (the codegen drift test compares it with the committed files; codegen's CLI loads ESM that
// jest's CommonJS runtime cannot).
import { generate } from '@graphql-codegen/cli';
import config from '../codegen';

async function main() {
  const outputs = (await generate({ ...config, silent: true, verbose: false }, false)) as {
    filename: string;
    content: string;
  }[];
  process.stdout.write(
    JSON.stringify(outputs.map(({ filename, content }) => ({ filename, content }))),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
