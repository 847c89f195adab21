import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';
import type { DomainEventType } from '../../events/domain-events.ts';

export const WebhookEventType = {
  BACKUP_COMPLETED: 'BACKUP_COMPLETED',
  BACKUP_FAILED: 'BACKUP_FAILED',
  IMPORT_COMPLETED: 'IMPORT_COMPLETED',
  IMPORT_FAILED: 'IMPORT_FAILED',
  RETENTION_SWEPT: 'RETENTION_SWEPT',
} as const;
export type WebhookEventTypeName = keyof typeof WebhookEventType;
export const WebhookDeliveryStatus = { PENDING: 'PENDING', DELIVERED: 'DELIVERED', RETRYING: 'RETRYING', FAILED: 'FAILED' } as const;
registerEnumType(WebhookEventType, { name: 'WebhookEventType' });
registerEnumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus' });

/** The body's `type` of each event (API.md §6). */
export const WIRE_TYPE: Record<WebhookEventTypeName, DomainEventType> = {
  BACKUP_COMPLETED: 'backup.completed',
  BACKUP_FAILED: 'backup.failed',
  IMPORT_COMPLETED: 'import.completed',
  IMPORT_FAILED: 'import.failed',
  RETENTION_SWEPT: 'retention.swept',
};

@ObjectType()
export class WebhookEndpoint {
  @Field(() => ID) id!: string;
  @Field(() => String) url!: string;
  @Field(() => [WebhookEventType]) events!: string[];
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
}

@ObjectType()
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field(() => String, { description: 'whsec_<base64>: shown once; store it now' }) secret!: string;
}

@ObjectType()
export class WebhookDelivery {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'The webhook-id header: the same on every attempt of one event' }) webhookId!: string;
  @Field(() => WebhookEventType) event!: string;
  @Field(() => Int) attempt!: number;
  @Field(() => WebhookDeliveryStatus) status!: string;
  @Field(() => Int, { nullable: true }) responseStatus!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) deliveredAt!: Date | null;
}

export const WebhookDeliveryConnection = connectionType(WebhookDelivery, 'WebhookDeliveryConnection');

@InputType()
export class WebhookEndpointInput {
  @Field(() => String, { description: 'http or https; never a loopback, private, link-local or metadata address' }) url!: string;
  @Field(() => [WebhookEventType]) events!: WebhookEventTypeName[];
  @Field(() => Boolean, { nullable: true, description: 'Default true' }) enabled?: boolean | null;
}
