using Microsoft.ML;
using Microsoft.ML.Data;

namespace SmartMail.Core.Classification;

/// <summary>The row ML.NET trains and scores on: a label and the featurizer's vector.</summary>
internal sealed class FeatureRow
{
    public string Label { get; set; } = string.Empty;

    public VBuffer<float> Features { get; set; }

    public static FeatureRow From(SparseVector v, string label = "") =>
        new() { Label = label, Features = new VBuffer<float>(v.Dimension, v.Indices.Length, v.Values, v.Indices) };

    /// <summary>The schema with the vector length fixed at run time.</summary>
    public static SchemaDefinition Schema(int dimension)
    {
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        return schema;
    }

    public static IDataView ToDataView(MLContext ml, IEnumerable<FeatureRow> rows, int dimension) =>
        ml.Data.LoadFromEnumerable(rows, Schema(dimension));
}

/// <summary>The scores ML.NET returns, one per label in the model's label order.</summary>
internal sealed class ScoreRow
{
    public float[] Score { get; set; } = [];
}

/// <summary>The row one label's binary SVM trains on: whether the document has the label, and its vector.</summary>
internal sealed class BinaryRow
{
    public bool Label { get; set; }

    public VBuffer<float> Features { get; set; }

    /// <summary>The schema with the vector length fixed at run time.</summary>
    public static SchemaDefinition Schema(int dimension)
    {
        var schema = SchemaDefinition.Create(typeof(BinaryRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        return schema;
    }
}
