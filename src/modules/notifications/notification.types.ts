import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';

@ObjectType()
export class Notification {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'e.g. backup.completed, backup.failed, retention.summary' }) kind!: string;
  @Field(() => String) title!: string;
  @Field(() => String, { nullable: true }) body!: string | null;
  @Field(() => ID, { nullable: true }) backupId!: string | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true }) readAt!: Date | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
}

export const NotificationConnection = connectionType(Notification, 'NotificationConnection');
