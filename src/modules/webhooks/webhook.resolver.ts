import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.ts';
import { signedPage, type ConnectionShape } from '../../graphql/connection.ts';
import type { DeliveryRow, EndpointRow } from './webhook.repository.ts';
import type { EndpointWithSecret } from './webhook.service.ts';
import {
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookEndpoint,
  WebhookEndpointInput,
  WebhookEndpointWithSecret,
} from './webhook.types.ts';

@Resolver(() => WebhookEndpoint)
export class WebhookResolver {
  @Authorized('ADMIN')
  @Query(() => [WebhookEndpoint])
  webhookEndpoints(@Ctx() ctx: GraphQLContext): Promise<EndpointRow[]> {
    return ctx.services.webhooks.list(ctx.viewer.organizationId);
  }

  @Authorized('ADMIN')
  @Query(() => WebhookDeliveryConnection, { description: 'Every attempt, newest first' })
  webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<DeliveryRow>> {
    return signedPage(ctx.services.appSecret, 'webhookDeliveries', after, (plain) =>
      ctx.services.webhooks.deliveries(ctx.viewer.organizationId, endpointId, { first, after: plain }),
    );
  }

  @Authorized('ADMIN')
  @Mutation(() => WebhookEndpointWithSecret, { description: 'The secret is shown once' })
  createWebhookEndpoint(@Arg('input', () => WebhookEndpointInput) input: WebhookEndpointInput, @Ctx() ctx: GraphQLContext): Promise<EndpointWithSecret> {
    return ctx.services.webhooks.create(ctx.viewer, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => WebhookEndpoint)
  updateWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => WebhookEndpointInput) input: WebhookEndpointInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EndpointRow> {
    return ctx.services.webhooks.update(ctx.viewer, id, input);
  }

  @Authorized('ADMIN')
  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new secret, shown once; the old one stops signing at once' })
  rotateWebhookSecret(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<EndpointWithSecret> {
    return ctx.services.webhooks.rotateSecret(ctx.viewer, id);
  }

  @Authorized('ADMIN')
  @Mutation(() => Boolean)
  deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return ctx.services.webhooks.remove(ctx.viewer, id);
  }

  @Authorized('ADMIN')
  @Mutation(() => WebhookDelivery, { description: 'Same webhook-id, new attempt' })
  redeliverWebhook(@Arg('deliveryId', () => ID) deliveryId: string, @Ctx() ctx: GraphQLContext): Promise<DeliveryRow> {
    return ctx.services.webhooks.redeliver(ctx.viewer, deliveryId);
  }
}
