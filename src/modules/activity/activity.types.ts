import { GraphQLDateTimeISO, GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';

@ObjectType()
export class ActivityEvent {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: 'e.g. backup.completed, backup.downloaded, retention.sweep' }) kind!: string;
  @Field(() => String) summary!: string;
  @Field(() => String, {
    nullable: true,
    description: 'BACKUP, BACKUP_SETTINGS, RETENTION_SETTINGS, RETENTION_POLICY, IMPORT, LEAD, CONTACT, ACCOUNT, DEAL, WEBHOOK_ENDPOINT',
  })
  subjectType!: string | null;
  @Field(() => ID, { nullable: true }) subjectId!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Before/after values, counts, ids; never personal data' })
  data!: Record<string, unknown> | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
}

export const ActivityEventConnection = connectionType(ActivityEvent, 'ActivityEventConnection');
