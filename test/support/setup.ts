// Decorators of type-graphql need the Reflect metadata API before any resolver is imported.
import 'reflect-metadata';
