import { createTemplate } from './databases';

export default async function globalSetup() {
  Object.assign(process.env, await createTemplate());
}
