// Webhook endpoints and test messages through the API, for the webhook tests.
import { globalId, type TestApp } from './app';

/** Creates an endpoint of `projectId` (default: the app's project) for `events` (default `webhook.test`); its global id. */
export async function createEndpoint(
  app: TestApp,
  url: string,
  projectId = app.projectId,
  events = ['webhook.test'],
) {
  const res = await app.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { id } } }`,
    { input: { projectId: globalId('Project', projectId), url, events } },
  );
  return res.body.data.createWebhookEndpoint.webhookEndpoint.id as string;
}

/** Sends the endpoint a test message (sendTestWebhook). */
export const sendTest = (app: TestApp, id: string) =>
  app.gql(`mutation($id: ID!) { sendTestWebhook(input: { id: $id }) { messageId } }`, { id });
